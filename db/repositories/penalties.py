"""Late penalties: a loan's charges and their waivers, a supervisor's waiver, a run of the daily job by hand, and
the monthly report of penalties charged, waived and collected per branch.

The rules live in the database (apply_overdue_penalties, waive_charge, loan_charge_unpaid, schedule_charges_unpaid).
A refusal that belongs to a field of the waive dialog comes back as a ValidationError keyed `amount` or `reason`; the
others as Refused or NotFound with the database's sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text

from db.errors import AstrofinError
from db.repositories.base import Repository
from db.repositories.tills import on_fields

FIELDS = {"amount": "amount", "reason": "reason", "as_of": "as_of"}


@dataclass(frozen=True)
class Charge:
    id: int
    installment_number: int
    occurrence: int
    charge_date: date
    amount: Decimal
    waived_amount: Decimal
    unpaid: Decimal
    waive_reason: str | None
    waived_by_name: str | None
    waived_at: datetime | None
    moved_amount: Decimal = Decimal(0)
    rescheduled_id: int | None = None

    @property
    def note(self) -> str:
        """What became of the charge beyond its payments: moved by a reschedule, or the reason it was waived (a
        reschedule's waiver names the reschedule)."""
        if self.moved_amount > 0 and self.rescheduled_id is not None:
            moved = f"moved to the new schedule by reschedule {self.rescheduled_id}"
            return f"{moved}; {self.waive_reason}" if self.waive_reason else moved
        return self.waive_reason or ""


@dataclass(frozen=True)
class PenaltyMonth:
    month: date
    branch_code: str
    charged: Decimal
    waived: Decimal
    collected: Decimal


class PenaltyRepository(Repository):
    def charges(self, loan_id: int) -> list[Charge]:
        """The loan's charges, oldest installment and occurrence first, with what of each is unpaid."""
        with self.read_work() as session:
            rows = session.execute(text("""
                SELECT c.id, c.installment_number, c.occurrence, c.charge_date, c.amount, c.waived_amount,
                       coalesce(x.unpaid, 0) AS unpaid, c.waive_reason, u.full_name AS waived_by_name, c.waived_at,
                       c.moved_amount, c.rescheduled_id
                  FROM loan_charges c LEFT JOIN users u ON u.id = c.waived_by
                  LEFT JOIN (SELECT y.charge_id, y.unpaid FROM payment_schedules s
                               CROSS JOIN LATERAL schedule_charges_unpaid(s.id) y WHERE s.loan_id = :loan) x
                    ON x.charge_id = c.id
                 WHERE c.loan_id = :loan
                 ORDER BY c.installment_number, c.occurrence
            """), {"loan": loan_id}).all()
        return [Charge(r.id, r.installment_number, r.occurrence, r.charge_date, r.amount, r.waived_amount,
                       Decimal(r.unpaid if r.unpaid is not None else 0), r.waive_reason, r.waived_by_name,
                       r.waived_at, Decimal(r.moved_amount), r.rescheduled_id) for r in rows]

    def waive(self, charge_id: int, amount: Decimal, reason: str) -> Decimal:
        """A supervisor waives `amount` of the charge, saying why; returns what of it is still unpaid."""
        try:
            with self.work() as session:
                left = session.execute(text("SELECT waive_charge(:c, :a, :r, :me)"),
                                       {"c": charge_id, "a": amount, "r": reason, "me": self.actor.user_id}
                                       ).scalar_one()
        except AstrofinError as error:
            raise on_fields(error, FIELDS) from error
        return Decimal(left)

    def run(self, as_of: date | None = None) -> int:
        """The daily run by hand (supervisor, admin): the charges due in the person's branches; how many written."""
        try:
            with self.work() as session:
                written = session.execute(text("SELECT apply_overdue_penalties(:d, :me)"),
                                          {"d": as_of, "me": self.actor.user_id}).scalar_one()
        except AstrofinError as error:
            raise on_fields(error, FIELDS) from error
        return int(written)

    def monthly(self) -> list[PenaltyMonth]:
        """Per month and branch (the person's branches): penalties charged (by charge date), waived (by the day of
        the waiver, a reschedule's 'waive' included) and collected (the penalty part of repayments less that of their
        reversals, by their date). What a reschedule moved onto the new schedule is neither waived nor collected: it is
        still owed, counts as collected when a repayment pays it, and as waived (in the month of the approval) when a
        later reschedule waives it."""
        with self.read_work() as session:
            rows = session.execute(text("""
                SELECT m.month, b.code AS branch_code, sum(m.charged) AS charged, sum(m.waived) AS waived,
                       sum(m.collected) AS collected
                  FROM (SELECT date_trunc('month', c.charge_date)::date AS month, c.branch_id, c.amount AS charged,
                               0::numeric AS waived, 0::numeric AS collected
                          FROM loan_charges c
                        UNION ALL
                        SELECT date_trunc('month', c.waived_at)::date, c.branch_id, 0, c.waived_amount, 0
                          FROM loan_charges c WHERE c.waived_amount > 0
                        UNION ALL
                        SELECT date_trunc('month', r.decided_at)::date, r.branch_id, 0, r.arrears_penalty_carried, 0
                          FROM loan_reschedules r
                         WHERE r.status = 'approved' AND r.arrears_handling = 'waive'
                           AND r.arrears_penalty_carried > 0
                        UNION ALL
                        SELECT date_trunc('month', t.transaction_date)::date, t.branch_id, 0, 0,
                               CASE WHEN t.transaction_type = 'reversal' THEN -t.penalty_amount
                                    ELSE t.penalty_amount END
                          FROM transactions t
                         WHERE t.transaction_type IN ('repayment', 'reversal') AND t.penalty_amount > 0) m
                  JOIN branches b ON b.id = m.branch_id
                 GROUP BY m.month, b.code
                 ORDER BY m.month DESC, b.code
            """)).all()
        return [PenaltyMonth(r.month, r.branch_code, Decimal(r.charged), Decimal(r.waived), Decimal(r.collected))
                for r in rows]
