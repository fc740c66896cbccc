"""Loans with a penalty rule for the penalty tests, made as the owner (the rules are the database's to prove).

The spec's oracle loan: 10,000.00 at 24 %, 12 monthly, disbursed 2025-12-31, first due 2026-01-31 (installment 1
is 945.60). Staff are the template's demo accounts of head office (cashier, officer, supervisor, admin …).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from db.engine import Actor, unit_of_work

DISBURSED = date(2025, 12, 31)
FIRST_DUE = date(2026, 1, 31)


def staff(engine: Engine) -> dict[str, Actor]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, role, branch_id FROM users WHERE username IN "
                                 "('cashier', 'officer', 'supervisor', 'accountant', 'admin')")).all()
    return {r.username: Actor(r.id, r.username, r.role, r.username.title(), branch_id=r.branch_id) for r in rows}


def product(engine: Engine, *, code: str = "LATE5", method: str = "percent_of_overdue_installment",
            value: str = "5", grace: int = 3, interval: int | None = None, cap: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, penalty_method, "
            "penalty_value, penalty_grace_days, penalty_interval_days, penalty_cap) "
            "VALUES (:c, :c, 'declining_balance', 'monthly', :m, :v, :g, :i, :cap) RETURNING id"),
            {"c": code, "m": method, "v": Decimal(value), "g": grace, "i": interval,
             "cap": None if cap is None else Decimal(cap)}).scalar_one()


def loan(engine: Engine, product_id: int | None, *, surname: str = "Wanjiru", principal: int = 10000,
         branch_id: int | None = None, disburse: bool = True) -> int:
    """Applied, approved and disbursed (as the owner, in the staff's names) on the oracle's dates."""
    people = staff(engine)
    with engine.begin() as conn:
        customer = conn.execute(text(
            "INSERT INTO customers (first_name, last_name, phone, created_by, branch_id) "
            "VALUES ('Amina', :s, '+254712000001', :me, "
            "        coalesce(:b, (SELECT id FROM branches WHERE parent_id IS NULL))) RETURNING id"),
            {"s": surname, "me": people["officer"].user_id, "b": branch_id}).scalar_one()
        loan_id = conn.execute(text(
            "INSERT INTO loans (customer_id, product_id, principal_amount, interest_rate, interest_method, term, "
            "repayment_frequency, application_date, loan_officer_id, created_by) "
            "VALUES (:c, :p, :a, 24, 'declining_balance', 12, 'monthly', :d, :me, :me) RETURNING id"),
            {"c": customer, "p": product_id, "a": principal, "d": DISBURSED, "me": people["officer"].user_id}
        ).scalar_one()
        conn.execute(text("SELECT approve_loan(:l, :me)"), {"l": loan_id, "me": people["supervisor"].user_id})
        if disburse:
            conn.execute(text("SELECT disburse_loan(:l, :me, :d, :f)"),
                         {"l": loan_id, "me": people["cashier"].user_id, "d": DISBURSED, "f": FIRST_DUE})
    return loan_id


def run(engine: Engine, as_of: date, actor: Actor | None = None) -> int:
    """apply_overdue_penalties as the maintenance job (the owner) or as `actor`."""
    if actor is None:
        with engine.begin() as conn:
            return int(conn.execute(text("SELECT apply_overdue_penalties(:d)"), {"d": as_of}).scalar_one())
    with unit_of_work(engine, actor) as session:
        return int(session.execute(text("SELECT apply_overdue_penalties(:d, :me)"),
                                   {"d": as_of, "me": actor.user_id}).scalar_one())


def charges(engine: Engine, loan_id: int) -> list[tuple[int, int, date, Decimal, Decimal]]:
    """(installment, occurrence, date, amount, waived) of a loan's charges, in order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT installment_number, occurrence, charge_date, amount, waived_amount FROM loan_charges "
            "WHERE loan_id = :l ORDER BY installment_number, occurrence"), {"l": loan_id})]  # type: ignore[misc]


def penalty_due(conn: Connection | Engine, loan_id: int) -> dict[int, Decimal]:
    sql = text("SELECT installment_number, penalty_due FROM payment_schedules WHERE loan_id = :l AND penalty_due > 0 "
               "ORDER BY 1")
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return dict(c.execute(sql, {"l": loan_id}).all())  # type: ignore[arg-type]
    return dict(conn.execute(sql, {"l": loan_id}).all())  # type: ignore[arg-type]


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def one(engine: Engine, actor: Actor | None, sql: str, **params: Any) -> Any:
    with unit_of_work(engine, actor) as session:
        return session.execute(text(sql), params).scalar()
