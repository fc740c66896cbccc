"""Portfolio at risk over time: PAR1/PAR30/PAR90 at each month end, computed with calculate_par().

calculate_par(N, day) reads the schedule as it stands now, so a past month's figure counts payments made
after that month end as if they had been made by then; screens say so beside the chart.
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import text

from db.errors import ValidationError
from db.repositories.base import Repository
from db.repositories.branch_scope import branch_params
from db.repositories.reports import MonthSummary, ParFigures, par_sql


def month_ends(today: date, months: int) -> list[date]:
    """The last day of each of the `months - 1` months before today's, then today, oldest first."""
    days = [today]
    year, month = today.year, today.month
    for _ in range(months - 1):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        days.append(date(year, month, calendar.monthrange(year, month)[1]))
    return list(reversed(days))


def _trend_sql(branch_id: int | None) -> str:
    sql = "SELECT d, "
    sql += par_sql("d", branch_id)
    sql += " FROM unnest(CAST(:days AS date[])) AS d ORDER BY d"
    return sql


class PortfolioRepository(Repository):
    def par_trend(self, today: date, months: int = 12, *, branch_id: int | None = None,
                  with_children: bool = True) -> list[ParFigures]:
        """PAR at each month end and today, of the caller's scope or of one branch (with or without those below)."""
        if not 1 <= months <= 120:
            raise ValidationError({"months": "choose between 1 and 120 months"})
        days = month_ends(today, months)
        with self.work() as session:
            rows = session.execute(
                text(_trend_sql(branch_id)),
                {"days": days, "children": with_children, **branch_params(branch_id)},
            ).all()
        return [ParFigures(*row) for row in rows]

    def monthly_summary(self, until: date, months: int = 12, *, branch_id: int | None = None,
                        with_children: bool = True) -> list[MonthSummary]:
        """The last `months` months of the summary up to and including `until`'s month, oldest first; of the
        caller's scope or of one branch with or without the branches below it."""
        with self.work() as session:
            rows = session.execute(
                text("""
                    SELECT month, disbursed, principal_collected, interest_collected, penalties_collected,
                           new_loans, loans_closed, active_loans_at_month_end
                    FROM monthly_financial_summary(CAST(:branch AS bigint), CAST(:children AS boolean))
                    WHERE month <= :until ORDER BY month DESC LIMIT :n
                """),
                {"until": until, "n": months, "branch": branch_id, "children": with_children},
            ).all()
        return [MonthSummary(*row) for row in reversed(rows)]
