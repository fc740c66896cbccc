"""Loans on the spec's dates: 10,000 at 24 %, 12 monthly, disbursed 2025-12-31, first due 2026-01-31."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.engine import unit_of_work
from tests.tills.book import TillBranch, one

DISBURSED = date(2025, 12, 31)
FIRST_DUE = date(2026, 1, 31)


def make_product(owner: Engine, code: str, method: str, rule: str) -> int:
    with owner.begin() as conn:
        return int(conn.execute(text(
            "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, early_settlement_interest) "
            "VALUES (:c, :n, :m, 'monthly', :r) RETURNING id"),
            {"c": code, "n": f"Product {code}", "m": method, "r": rule}).scalar_one())


def make_loan(app: Engine, branch: TillBranch, surname: str, *, method: str = "declining_balance",
              product: int | None = None, principal: str = "10000") -> int:
    """Applied 2025-12-01, approved, disbursed in cash on 2025-12-31 (MSA01 needs no till for it)."""
    s = branch.staff
    customer = one(app, s["officer"], "INSERT INTO customers (first_name, last_name, phone, created_by) "
                                      "VALUES ('Amina', :s, '+254712000001', :me) RETURNING id",
                   s=surname, me=s["officer"].user_id)
    loan = one(app, s["officer"],
               "INSERT INTO loans (customer_id, product_id, principal_amount, interest_rate, interest_method, term, "
               "repayment_frequency, application_date, loan_officer_id, created_by) "
               "VALUES (:c, :prod, :p, 24, :m, 12, 'monthly', :d, :me, :me) RETURNING id",
               c=customer, prod=product, p=Decimal(principal), m=method, d=date(2025, 12, 1),
               me=s["officer"].user_id)
    one(app, s["supervisor"], "SELECT approve_loan(:l, :me)", l=loan, me=s["supervisor"].user_id)
    one(app, s["supervisor"], "SELECT disburse_loan(:l, :me, :d, :f, 'bank', 'EQ-1')", l=loan,
        me=s["supervisor"].user_id, d=DISBURSED, f=FIRST_DUE)
    return int(loan)


def quote(app: Engine, branch: TillBranch, loan: int, day: date, role: str = "cashier") -> tuple[Any, ...]:
    with unit_of_work(app, branch.staff[role]) as session:
        row = session.execute(text("SELECT principal, interest, penalty, total FROM payoff_quote(:l, :d)"),
                              {"l": loan, "d": day}).one()
    return tuple(row)


def pay(app: Engine, branch: TillBranch, loan: int, amount: str, day: date, role: str = "cashier") -> int:
    actor = branch.staff[role]
    return int(one(app, actor, "SELECT record_loan_payment(:l, :a, :d, :me, NULL, 'bank', 'EQ-2')", l=loan,
                   a=Decimal(amount), d=day, me=actor.user_id))
