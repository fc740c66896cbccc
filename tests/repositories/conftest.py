"""Repositories act for signed-in staff: actors for the demo accounts of the test template."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanDetail, LoanRepository, LoanTerms
from db.validation import CustomerInput


def actor_for(engine: Engine, username: str) -> Actor:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, username, role, full_name FROM users WHERE username = :u"),
                           {"u": username}).one()
    return Actor(row.id, row.username, row.role, row.full_name)


@pytest.fixture
def actors(engine: Engine) -> dict[str, Actor]:
    return {name: actor_for(engine, name) for name in ("admin", "supervisor", "officer", "cashier", "accountant")}


def make_active_loan(engine: Engine, actors: dict[str, Actor], first: str, last: str, *, days_ago: int,
                     phone: str | None = "+254712345678", principal: str = "10000.00") -> LoanDetail:
    """An application by the officer, approved by the supervisor, disbursed by the cashier `days_ago` days ago,
    first installment due 30 days after disbursement (monthly, 12 installments, 24 % declining balance)."""
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name=first, last_name=last, phone=phone), today=date.today())
    start = date.today() - timedelta(days=days_ago)
    terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
    loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=start)
    LoanRepository(engine, actors["supervisor"]).approve(loan.id)
    return LoanRepository(engine, actors["cashier"]).disburse(loan.id, start, start + timedelta(days=30))
