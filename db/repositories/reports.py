"""Portfolio reports and the overdue queue: PAR, arrears aging, the monthly summary, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import TextClause, text

from db.errors import ValidationError
from db.repositories.base import Repository
from db.repositories.branch_scope import branch_condition, branch_params

ZERO = Decimal("0.00")
# The arrears buckets of docs/database.md: label → inclusive range of days past due.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
    ("over 180", 181, None),
)
QUEUE_PAGE = 50

# One page of the overdue queue. DPD >= low <=> oldest_due_date <= as_of - low (and <= high likewise), so
# every condition and the order are on loans_arrears_idx (oldest_unpaid_due_date, id); never OFFSET.
# Only the conditions a page needs are written (fixed fragments, never input), so a plan psycopg prepares
# after a few calls still seeks the index instead of filtering `x IS NULL OR …`. A branch narrows the walk
# by a filter on the loan's row (fetched anyway for the page's columns): the order is still the index's.
_SEGMENTS = {
    "all": "",
    "mine": " AND o.loan_officer_id = :me",
    "others": " AND o.loan_officer_id IS DISTINCT FROM CAST(:me AS bigint)",
}


# The branch condition of a page: none (the caller's whole scope), the branch with those below, the branch alone
# (the id is bound as :branch; branch_condition needs only to know that one is chosen).
_BRANCH_SCOPES: dict[str, tuple[int | None, bool]] = {"all": (None, True), "tree": (0, True), "one": (0, False)}


@lru_cache(maxsize=64)
def _queue_sql(segment: str, keyset: bool, high: bool, officer: bool, branch: str = "all") -> TextClause:
    # `rescheduled`: the queue marks loans whose schedule a reschedule replaced (0022).
    sql = ("SELECT o.*, EXISTS (SELECT 1 FROM loan_reschedules r WHERE r.loan_id = o.loan_id "
           "AND r.status = 'approved') AS rescheduled FROM overdue_loans_as_of(:d) o")
    if branch != "all":
        sql += " JOIN loans l ON l.id = o.loan_id"
    sql += " WHERE o.oldest_due_date <= CAST(:d AS date) - CAST(:low AS integer)"
    sql += branch_condition("l.branch_id", *_BRANCH_SCOPES[branch])
    if high:
        sql += " AND o.oldest_due_date >= CAST(:d AS date) - CAST(:high AS integer)"
    if officer:
        sql += " AND o.loan_officer_id = :officer"
    sql += _SEGMENTS[segment]
    if keyset:
        sql += " AND (o.oldest_due_date, o.loan_id) > (CAST(:after_date AS date), CAST(:after_id AS bigint))"
    return text(sql + " ORDER BY o.oldest_due_date, o.loan_id LIMIT :n")


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
    rescheduled: bool = False


@dataclass(frozen=True)
class OverduePage:
    rows: tuple[OverdueLoan, ...]
    more: bool


def bucket_range(label: str) -> tuple[int, int | None]:
    for name, low, high in BUCKETS:
        if name == label:
            return low, high
    raise ValidationError({"bucket": f"choose one of {', '.join(b[0] for b in BUCKETS)}"})


def par_sql(day: str, branch_id: int | None) -> str:
    """PAR1, PAR30 and PAR90 on `day` (a bound parameter or a column, written by the caller): of the caller's
    whole scope, or of `:branch` with the branches below it when `:children`."""
    if branch_id is None:
        return f"calculate_par(1, {day}), calculate_par(30, {day}), calculate_par(90, {day})"
    return ", ".join(f"calculate_par({n}, {day}, CAST(:branch AS bigint), CAST(:children AS boolean))"
                     for n in (1, 30, 90))


class ReportRepository(Repository):
    def par(self, as_of: date, *, branch_id: int | None = None, with_children: bool = True) -> ParFigures:
        """PAR of the caller's scope (no branch), or of one branch with or without the branches below it."""
        with self.read_work() as session:
            # calculate_par with no branch is the caller's whole scope.
            row = session.execute(
                text("SELECT calculate_par(1, :d, CAST(:branch AS bigint), CAST(:children AS boolean)), "
                     "calculate_par(30, :d, CAST(:branch AS bigint), CAST(:children AS boolean)), "
                     "calculate_par(90, :d, CAST(:branch AS bigint), CAST(:children AS boolean))"),
                {"d": as_of, "children": with_children, "branch": branch_id},
            ).one()
        return ParFigures(as_of, *row)

    def aging(self, as_of: date, *, branch_id: int | None = None, with_children: bool = True,
              officer_id: int | None = None) -> list[AgingBucket]:
        """Active and defaulted loans by days past due, with the principal they still owe; of one branch (with
        or without those below) and of one loan officer when given."""
        with self.read_work() as session:
            rows = session.execute(text("""
                SELECT s.days_past_due, s.outstanding_principal
                FROM loan_summary_as_of(:d) s JOIN loans l ON l.id = s.loan_id
                WHERE s.status IN ('active', 'defaulted')
                  AND (CAST(:branch AS bigint) IS NULL OR l.branch_id = ANY(CAST((SELECT CASE
                        WHEN CAST(:children AS boolean) THEN branch_subtree(CAST(:branch AS bigint))
                        ELSE ARRAY[CAST(:branch AS bigint)] END) AS bigint[])))
                  AND (CAST(:officer AS bigint) IS NULL OR s.loan_officer_id = :officer)
            """), {"d": as_of, "officer": officer_id, "branch": branch_id, "children": with_children}).all()
        counts = {label: 0 for label, _, _ in BUCKETS}
        amounts = {label: ZERO for label, _, _ in BUCKETS}
        for dpd, owed in rows:
            for label, low, high in BUCKETS:
                if dpd >= low and (high is None or dpd <= high):
                    counts[label] += 1
                    amounts[label] += owed
                    break
        return [AgingBucket(label, counts[label], amounts[label]) for label, _, _ in BUCKETS]

    def monthly_summary(self, months: int = 12, *, branch_id: int | None = None,
                        with_children: bool = True) -> list[MonthSummary]:
        """The last `months` months, oldest first, as last computed (refresh_monthly_summary), of the caller's
        scope or of one branch with or without the branches below it."""
        with self.read_work() as session:
            rows = session.execute(
                text("""
                    SELECT month, disbursed, principal_collected, interest_collected, penalties_collected,
                           new_loans, loans_closed, active_loans_at_month_end
                    FROM monthly_financial_summary(CAST(:branch AS bigint), CAST(:children AS boolean))
                    ORDER BY month DESC LIMIT :n
                """),
                {"n": months, "branch": branch_id, "children": with_children},
            ).all()
        return [MonthSummary(*row) for row in reversed(rows)]

    def refresh_monthly_summary(self) -> None:
        with self.work() as session:
            session.execute(text("SELECT refresh_monthly_financial_summary()"))

    def overdue_queue(self, as_of: date, *, bucket: str | None = None, officer_id: int | None = None,
                      officer_first: bool = False, after: OverdueLoan | None = None,
                      limit: int = QUEUE_PAGE, branch_id: int | None = None,
                      with_children: bool = True) -> OverduePage:
        """Most days past due first, paged by keyset; a loan officer may see their own loans first.

        Most days past due first is the oldest unpaid due date first, which is the order of
        loans_arrears_idx: a page, the first or the ten-thousandth, reads `limit` index entries (with a
        branch chosen, the entries of other branches in between are read and passed over).
        With `officer_first` the queue is two runs of that order: the actor's loans, then everyone else's.
        `officer_id` keeps one officer's loans ("mine" is the actor's own id); `branch_id` one branch, with
        or without the branches below it (None: the caller's whole scope).
        """
        low, high = bucket_range(bucket) if bucket else (1, None)
        branch = "all" if branch_id is None else "tree" if with_children else "one"
        base: dict[str, object] = {
            "d": as_of, "low": max(low, 1), "high": high, "officer": officer_id, "n": limit + 1,
            **branch_params(branch_id),
        }
        me = self.actor.user_id
        segments: list[str | None] = ["mine", "others"] if officer_first else [None]
        if after is not None and officer_first and after.loan_officer_id != me:
            segments = ["others"]
        found: list[OverdueLoan] = []
        with self.read_work() as session:
            for index, segment in enumerate(segments):
                key = after if index == 0 else None
                params = dict(base, me=me, n=limit + 1 - len(found))
                if key is not None:
                    params.update(after_date=key.oldest_due_date, after_id=key.loan_id)
                statement = _queue_sql(segment or "all", key is not None, high is not None, officer_id is not None,
                                       branch)
                rows = session.execute(statement, params).mappings().all()
                found.extend(
                    OverdueLoan(r["loan_id"], r["loan_number"], r["customer_name"], r["phone"], r["days_past_due"],
                                r["amount_overdue"], r["oldest_due_date"], r["outstanding_principal"],
                                r["loan_officer_id"], r["loan_officer_name"] or "", bool(r["rescheduled"]))
                    for r in rows
                )
                if len(found) > limit:
                    break
        return OverduePage(tuple(found[:limit]), len(found) > limit)

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
