"""Helpers for the front desk screen tests: the app as a person drives it, and late loans made by the roles."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from textual.pilot import Pilot
from textual.widgets import Input

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanDetail, LoanRepository, LoanTerms
from db.validation import CustomerInput
from tests.tui.conftest import TODAY, build_app, settle


def front_app(engine: Engine, access_log: Path, **kwargs: Any) -> AstrofinApp:
    app = build_app(engine, access_log)
    app.retry_seconds = 0.05
    for name, value in kwargs.items():
        setattr(app, name, value)
    return app


async def sign_in(pilot: Pilot[Any], actor: Actor) -> None:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    if app.actor is not None:
        await app.action_sign_out()
        await settle(pilot)
    await app.sign_in_as(actor)
    await settle(pilot)


async def type_into(pilot: Pilot[Any], selector: str, value: str, *, clear: bool = True) -> None:
    """Focus a field and type, key by key, as a person would."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    if clear:
        field.value = ""
    await pilot.pause()
    if value.isascii():
        await pilot.press(*value)
    else:  # Pilot presses keys by name; characters outside ASCII arrive as a paste would
        field.insert_text_at_cursor(value)
    await settle(pilot)


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def make_late_loan(engine: Engine, actors: dict[str, Actor], first: str, last: str, *, days_late: int,
                   principal: str = "10000.00", phone: str | None = "+254712345678") -> LoanDetail:
    """An officer's application, approved by the supervisor, disbursed by the cashier so that the first
    installment fell due `days_late` days before TODAY (12 monthly installments, 24 % declining balance)."""
    first_due = TODAY - timedelta(days=days_late)
    start = first_due - timedelta(days=30)
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name=first, last_name=last, phone=phone), today=TODAY)
    terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
    loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=start)
    LoanRepository(engine, actors["supervisor"]).approve(loan.id)
    return LoanRepository(engine, actors["cashier"]).disburse(loan.id, start, first_due)


def make_new_loan(engine: Engine, actors: dict[str, Actor], first: str, last: str, *,
                  disbursed: date = TODAY, principal: str = "10000.00") -> LoanDetail:
    """A loan disbursed on `disbursed`, first installment one month later."""
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name=first, last_name=last, phone="+254700000001"), today=TODAY)
    terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
    loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=disbursed)
    LoanRepository(engine, actors["supervisor"]).approve(loan.id)
    return LoanRepository(engine, actors["cashier"]).disburse(loan.id, disbursed, None)


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())
