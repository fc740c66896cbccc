"""Reschedule calls on the owner's connection (head office), as the SQL functions take them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from tests.ledger.helpers import TODAY, Staff

TERMS: dict[str, Any] = {"from_installment": 1, "new_next_due_date": None, "extra_installments": 0,
                         "new_rate": None, "grace_periods": 0, "arrears_handling": "keep",
                         "reason": "Harvest failed; the customer asked for more time"}


def request(conn: Connection, staff: Staff, loan: int, by: int | None = None, **changes: Any) -> int:
    terms = {**TERMS, **changes}
    return conn.execute(text(
        "SELECT request_reschedule(:l, :from_installment, :new_next_due_date, :extra_installments, "
        "CAST(:new_rate AS numeric), :grace_periods, :arrears_handling, :reason, :by)"),
        {"l": loan, "by": by or staff.officer, **terms}).scalar_one()


def approve(conn: Connection, staff: Staff, reschedule: int, by: int | None = None) -> int:
    return conn.execute(text("SELECT approve_reschedule(:r, :by)"),
                        {"r": reschedule, "by": by or staff.supervisor}).scalar_one()


def preview(conn: Connection, loan: int, **changes: Any) -> list[Any]:
    terms = {**TERMS, **changes}
    terms.pop("reason")
    return list(conn.execute(text(
        "SELECT * FROM preview_reschedule(:l, :from_installment, :new_next_due_date, :extra_installments, "
        "CAST(:new_rate AS numeric), :grace_periods, :arrears_handling)"), {"l": loan, **terms}))


def rows(conn: Connection, loan: int) -> list[Any]:
    return list(conn.execute(text(
        "SELECT installment_number, due_date, principal_due, interest_due, penalty_due, total_due, principal_paid, "
        "interest_paid, penalty_paid, total_paid, status, paid_date FROM payment_schedules WHERE loan_id = :l "
        "ORDER BY installment_number"), {"l": loan}))


def schedule_rows(conn: Connection, principal: Decimal | str, rate: Decimal | str | int, term: int, first: date,
                  grace: int = 0, method: str = "declining_balance", frequency: str = "monthly") -> list[Any]:
    """The one schedule math's rows for these terms."""
    return list(conn.execute(text(
        "SELECT * FROM ledger_schedule_rows(CAST(:p AS numeric), CAST(:r AS numeric), :m, :t, :f, :d, :g)"),
        {"p": principal, "r": rate, "m": method, "t": term, "f": frequency, "d": first, "g": grace}))


__all__ = ["TODAY", "approve", "preview", "request", "rows", "schedule_rows"]
