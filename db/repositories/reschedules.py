"""Reschedules: a loan officer's or supervisor's request to move a loan's unpaid tail, its preview beside the tail
it replaces, another supervisor's approval or rejection, the old schedules kept, and the month by month report.

Every rule lives in the database's functions (preview_reschedule, request_reschedule, approve_reschedule,
reject_reschedule). A refusal that belongs to a field comes back as a ValidationError keyed by the form's field
names: `from_installment`, `new_next_due_date`, `extra_installments`, `new_rate`, `grace_periods`,
`arrears_handling`, `reason`, `decision_note`; the others as Refused or NotFound with the database's sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.errors import NotFound
from db.repositories.base import Repository
from db.repositories.loans import ScheduleRow

FIELDS = ("from_installment", "new_next_due_date", "extra_installments", "new_rate", "grace_periods",
          "arrears_handling", "reason")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RescheduleTerms:
    """What the form asks: from which unpaid installment, the new next due date, extra installments, a new rate
    (None keeps the loan's), grace periods (interest only), arrears kept on the first new installment or waived."""

    from_installment: int
    new_next_due_date: date
    extra_installments: int = 0
    new_rate: Decimal | None = None
    grace_periods: int = 0
    arrears_handling: str = "keep"

    def params(self) -> dict[str, Any]:
        return {"f": self.from_installment, "d": self.new_next_due_date, "x": self.extra_installments,
                "r": self.new_rate, "g": self.grace_periods, "a": self.arrears_handling}


@dataclass(frozen=True)
class LoanTail:
    """What the form starts from: the loan's installments, the first unpaid one and its due date, the rate."""

    loan_id: int
    loan_number: str
    status: str
    installments: int
    first_unpaid: int | None
    first_unpaid_due: date | None
    interest_rate: Decimal
    disbursement_date: date | None


@dataclass(frozen=True)
class Reschedule:
    id: int
    loan_id: int
    loan_number: str
    customer_name: str
    status: str
    terms: RescheduleTerms
    reason: str
    requested_by: int
    requested_by_name: str
    requested_at: datetime
    decided_by_name: str | None
    decided_at: datetime | None
    decision_note: str | None
    outstanding_moved: Decimal | None
    arrears_interest: Decimal | None
    arrears_penalty: Decimal | None
    previous_term: int | None
    new_term: int | None


@dataclass(frozen=True)
class OldRow:
    """A schedule row as it was before a reschedule replaced it."""

    reschedule_id: int
    decided_at: datetime | None
    row: ScheduleRow


@dataclass(frozen=True)
class RescheduleMonth:
    month: date
    branch_code: str
    reschedules: int
    outstanding_moved: Decimal


def _reschedules(session: Session, loan_id: int | None, pending: bool, limit: int) -> list[Any]:
    """A loan's reschedules (a pending one first, then newest first), or the pending ones, newest first."""
    return list(session.execute(text("""
    SELECT r.id, r.loan_id, l.loan_number, c.first_name || ' ' || c.last_name AS customer_name, r.status,
           r.from_installment, r.new_next_due_date, r.extra_installments, r.new_rate, r.grace_periods,
           r.arrears_handling, r.reason, r.requested_by, rq.full_name AS requested_by_name, r.requested_at,
           dc.full_name AS decided_by_name, r.decided_at, r.decision_note, r.outstanding_moved, r.arrears_interest,
           r.arrears_penalty, r.previous_term, r.new_term
    FROM loan_reschedules r
    JOIN loans l ON l.id = r.loan_id
    JOIN customers c ON c.id = l.customer_id
    JOIN users rq ON rq.id = r.requested_by
    LEFT JOIN users dc ON dc.id = r.decided_by
    WHERE (CAST(:l AS bigint) IS NULL OR r.loan_id = CAST(:l AS bigint))
      AND (NOT CAST(:pending AS boolean) OR r.status = 'pending')
    ORDER BY r.status <> 'pending', r.requested_at DESC, r.id DESC
    LIMIT :n
"""), {"l": loan_id, "pending": pending, "n": limit}).all())


def _reschedule(r: Any) -> Reschedule:
    terms = RescheduleTerms(r.from_installment, r.new_next_due_date, r.extra_installments, r.new_rate,
                            r.grace_periods, r.arrears_handling)
    return Reschedule(r.id, r.loan_id, r.loan_number, r.customer_name, r.status, terms, r.reason, r.requested_by,
                      r.requested_by_name, r.requested_at, r.decided_by_name, r.decided_at, r.decision_note,
                      r.outstanding_moved, r.arrears_interest, r.arrears_penalty, r.previous_term, r.new_term)


def _row(r: Any) -> ScheduleRow:
    return ScheduleRow(r.installment_number, r.due_date, r.principal_due, r.interest_due, r.penalty_due,
                       r.total_due, r.total_paid, r.status, r.paid_date, r.principal_paid,
                       getattr(r, "balance_after", None))


class RescheduleRepository(Repository):
    # --- reading --------------------------------------------------------------------------------------

    def loan_tail(self, loan_id: int) -> LoanTail:
        """The loan as the form needs it (its installments, the first unpaid one, its rate)."""
        with self.work() as session:
            row = session.execute(text("""
                SELECT l.id, l.loan_number, l.status, l.interest_rate, l.disbursement_date,
                       count(s.id) AS installments,
                       min(s.installment_number) FILTER (WHERE s.paid_date IS NULL) AS first_unpaid,
                       min(s.due_date) FILTER (WHERE s.paid_date IS NULL) AS first_unpaid_due
                FROM loans l LEFT JOIN payment_schedules s ON s.loan_id = l.id
                WHERE l.id = :l GROUP BY l.id
            """), {"l": loan_id}).one_or_none()
        if row is None:
            raise NotFound(f"loan {loan_id} does not exist or is not one of your branches'")
        return LoanTail(row.id, row.loan_number, row.status, int(row.installments), row.first_unpaid,
                        row.first_unpaid_due, row.interest_rate, row.disbursement_date)

    def old_tail(self, loan_id: int, from_installment: int) -> list[ScheduleRow]:
        """The loan's installments from `from_installment` on, as they stand: the left side of the preview."""
        with self.work() as session:
            rows = session.execute(text("""
                SELECT installment_number, due_date, principal_due, interest_due, penalty_due, total_due,
                       total_paid, status, paid_date, principal_paid
                FROM payment_schedules WHERE loan_id = :l AND installment_number >= :f
                ORDER BY installment_number
            """), {"l": loan_id, "f": from_installment}).all()
        return [_row(r) for r in rows]

    def preview(self, loan_id: int, terms: RescheduleTerms) -> list[ScheduleRow]:
        """The new tail these terms would write (nothing is saved); bad terms are refused beside their field."""
        with self.work() as session:
            rows = session.execute(text(
                "SELECT * FROM preview_reschedule(:l, :f, :d, :x, CAST(:r AS numeric), :g, :a)"),
                {"l": loan_id, **terms.params()}).all()
        return [ScheduleRow(r.installment_number, r.due_date, r.principal_due, r.interest_due, r.penalty_due,
                            r.total_due, ZERO, "pending", None, ZERO, r.balance_after) for r in rows]

    def for_loan(self, loan_id: int) -> list[Reschedule]:
        """The loan's reschedules, newest first (a pending one first of all)."""
        with self.work() as session:
            rows = _reschedules(session, loan_id, False, 1000)
        return [_reschedule(r) for r in rows]

    def pending(self, limit: int = 200) -> list[Reschedule]:
        """Requests waiting for a supervisor's decision in the signed-in person's branches, oldest first (the newest
        `limit` of them)."""
        with self.work() as session:
            rows = _reschedules(session, None, True, limit)
        return [_reschedule(r) for r in reversed(rows)]

    def history(self, loan_id: int) -> list[OldRow]:
        """The schedule rows each approved reschedule replaced, newest reschedule first."""
        with self.work() as session:
            rows = session.execute(text("""
                SELECT h.reschedule_id, r.decided_at, h.installment_number, h.due_date, h.principal_due,
                       h.interest_due, h.penalty_due, h.total_due, h.total_paid, h.status, h.paid_date,
                       h.principal_paid
                FROM payment_schedule_history h JOIN loan_reschedules r ON r.id = h.reschedule_id
                WHERE h.loan_id = :l
                ORDER BY r.decided_at DESC, h.reschedule_id DESC, h.installment_number
            """), {"l": loan_id}).all()
        return [OldRow(r.reschedule_id, r.decided_at, _row(r)) for r in rows]

    def monthly(self, months: int = 12) -> list[RescheduleMonth]:
        """Approved reschedules per month of approval and branch, with the principal they moved, newest first."""
        with self.work() as session:
            rows = session.execute(text("""
                SELECT date_trunc('month', r.decided_at)::date AS month, b.code, count(*) AS n,
                       sum(r.outstanding_moved) AS moved
                FROM loan_reschedules r JOIN branches b ON b.id = r.branch_id
                WHERE r.status = 'approved'
                  AND r.decided_at >= date_trunc('month', now()) - make_interval(months => :m - 1)
                GROUP BY 1, 2 ORDER BY 1 DESC, 2
            """), {"m": months}).all()
        return [RescheduleMonth(r.month, r.code, int(r.n), Decimal(r.moved)) for r in rows]

    # --- writing --------------------------------------------------------------------------------------

    def request(self, loan_id: int, terms: RescheduleTerms, reason: str) -> int:
        """Ask for the reschedule (loan officer or supervisor); another supervisor approves it."""
        with self.work() as session:
            return int(session.execute(text(
                "SELECT request_reschedule(:l, :f, :d, :x, CAST(:r AS numeric), :g, :a, :reason, :me)"),
                {"l": loan_id, **terms.params(), "reason": reason, "me": self.actor.user_id}).scalar_one())

    def approve(self, reschedule_id: int, note: str | None = None) -> int:
        """A supervisor who did not request it approves: the new tail is written; returns its installments."""
        with self.work() as session:
            return int(session.execute(text("SELECT approve_reschedule(:r, :me, :note)"),
                                       {"r": reschedule_id, "me": self.actor.user_id,
                                        "note": note or None}).scalar_one())

    def reject(self, reschedule_id: int, note: str) -> None:
        with self.work() as session:
            session.execute(text("SELECT reject_reschedule(:r, :me, :note)"),
                            {"r": reschedule_id, "me": self.actor.user_id, "note": note})
