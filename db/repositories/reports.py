"""Portfolio reports and the overdue queue: PAR, arrears aging, the monthly summary, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from db.errors import ValidationError
from db.repositories.base import Repository

ZERO = Decimal("0.00")
# domain.md's arrears buckets: label → inclusive range of days past due.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
    ("over 180", 181, None),
)
QUEUE_PAGE = 50


@dataclass(frozen=True)
class ParFigures:
    as_of: date
    par1: Decimal
    par30: Decimal
    par90: Decimal


@dataclass(frozen=True)
class AgingBucket:
    label: str
    loans: int
    outstanding_principal: Decimal


@dataclass(frozen=True)
class MonthSummary:
    month: date
    disbursed: Decimal
    principal_collected: Decimal
    interest_collected: Decimal
    penalties_collected: Decimal
    new_loans: int
    loans_closed: int
    active_loans_at_month_end: int


@dataclass(frozen=True)
class OverdueLoan:
    loan_id: int
    loan_number: str
    customer_name: str
    phone: str | None
    days_past_due: int
    amount_overdue: Decimal
    oldest_due_date: date
    outstanding_principal: Decimal
    loan_officer_id: int | None
    loan_officer_name: str


@dataclass(frozen=True)
class OverduePage:
    rows: tuple[OverdueLoan, ...]
    more: bool


def bucket_range(label: str) -> tuple[int, int | None]:
    for name, low, high in BUCKETS:
        if name == label:
            return low, high
    raise ValidationError({"bucket": f"choose one of {', '.join(b[0] for b in BUCKETS)}"})


class ReportRepository(Repository):
    def par(self, as_of: date) -> ParFigures:
        with self.work() as session:
            row = session.execute(
                text("SELECT calculate_par(1, :d), calculate_par(30, :d), calculate_par(90, :d)"), {"d": as_of}
            ).one()
        return ParFigures(as_of, *row)

    def aging(self, as_of: date) -> list[AgingBucket]:
        """Active and defaulted loans by days past due, with the principal they still owe."""
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT days_past_due, outstanding_principal FROM loan_summary_as_of(:d)
                    WHERE status IN ('active', 'defaulted')
                """),
                {"d": as_of},
            ).all()
        counts = {label: 0 for label, _, _ in BUCKETS}
        amounts = {label: ZERO for label, _, _ in BUCKETS}
        for dpd, owed in rows:
            for label, low, high in BUCKETS:
                if dpd >= low and (high is None or dpd <= high):
                    counts[label] += 1
                    amounts[label] += owed
                    break
        return [AgingBucket(label, counts[label], amounts[label]) for label, _, _ in BUCKETS]

    def monthly_summary(self, months: int = 12) -> list[MonthSummary]:
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT month, disbursed, principal_collected, interest_collected, penalties_collected,
                           new_loans, loans_closed, active_loans_at_month_end
                    FROM mvw_monthly_financial_summary ORDER BY month DESC LIMIT :n
                """),
                {"n": months},
            ).all()
        return [MonthSummary(*row) for row in reversed(rows)]

    def refresh_monthly_summary(self) -> None:
        with self.work() as session:
            session.execute(text("SELECT refresh_monthly_financial_summary()"))

    def overdue_queue(self, as_of: date, *, bucket: str | None = None, officer_id: int | None = None,
                      officer_first: bool = False, after: OverdueLoan | None = None,
                      limit: int = QUEUE_PAGE) -> OverduePage:
        """Most days past due first, paged by keyset; a loan officer may see their own loans first."""
        low, high = bucket_range(bucket) if bucket else (1, None)
        mine_first = self.actor.user_id if officer_first else 0
        params: dict[str, object] = {
            "d": as_of, "low": max(low, 1), "high": high, "officer": officer_id, "me": mine_first, "n": limit + 1,
            "after_mine": None, "after_dpd": None, "after_id": None,
        }
        if after is not None:
            params.update(after_mine=int(after.loan_officer_id == mine_first), after_dpd=after.days_past_due,
                          after_id=after.loan_id)
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT * FROM (
                        SELECT o.*, (o.loan_officer_id IS NOT DISTINCT FROM CAST(:me AS bigint))::int AS mine
                        FROM overdue_loans_as_of(:d) o
                        WHERE o.days_past_due >= :low
                          AND (CAST(:high AS integer) IS NULL OR o.days_past_due <= :high)
                          AND (CAST(:officer AS bigint) IS NULL OR o.loan_officer_id = :officer)
                    ) q
                    WHERE CAST(:after_id AS bigint) IS NULL
                       OR (q.mine, q.days_past_due, -q.loan_id)
                          < (CAST(:after_mine AS integer), CAST(:after_dpd AS integer), -CAST(:after_id AS bigint))
                    ORDER BY q.mine DESC, q.days_past_due DESC, q.loan_id
                    LIMIT :n
                """),
                params,
            ).mappings().all()
        loans = tuple(
            OverdueLoan(r["loan_id"], r["loan_number"], r["customer_name"], r["phone"], r["days_past_due"],
                        r["amount_overdue"], r["oldest_due_date"], r["outstanding_principal"], r["loan_officer_id"],
                        r["loan_officer_name"] or "")
            for r in rows[:limit]
        )
        return OverduePage(loans, len(rows) > limit)

    def remind(self, loan_ids: list[int], as_of: date) -> int:
        """Queue one reminder per chosen overdue loan (at most one a day); returns how many were queued."""
        if not loan_ids:
            raise ValidationError({"loans": "choose at least one loan to remind"})
        with self.work() as session:
            queued = session.execute(
                text("SELECT send_loan_reminders(:ids, :user, :d)"),
                {"ids": list(loan_ids), "user": self.actor.user_id, "d": as_of},
            ).scalar_one()
        return int(queued)

    def remind_all(self, min_days: int, as_of: date) -> int:
        with self.work() as session:
            queued = session.execute(
                text("SELECT send_overdue_loan_notifications(:days, :user, :d)"),
                {"days": min_days, "user": self.actor.user_id, "d": as_of},
            ).scalar_one()
        return int(queued)
