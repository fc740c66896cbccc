"""What the till screens' tests share: the app on the branch book, a loan waiting to be paid out, and the
sessions' and cash movements' times pinned so that screens and sheets read the same every run."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from astrofin_tui.app import AstrofinApp
from db.repositories.loans import LoanRepository
from tests.tills.book import TillBranch, make_loan
from tests.tui.front import front_app


def till_app(book_app: Engine, access_log: Path, **kwargs: Any) -> AstrofinApp:
    """The app on the login role's engine, on today's date (the till's business day is the server's)."""
    return front_app(book_app, access_log, **{"today": date.today, **kwargs})


def loan_number(app: Engine, branch: TillBranch, loan_id: int) -> str:
    return LoanRepository(app, branch.staff["supervisor"]).get(loan_id).loan_number


def approved_loan(app: Engine, branch: TillBranch, principal: int = 3000) -> str:
    """A loan applied for and approved in the branch, waiting to be paid out; its number."""
    return loan_number(app, branch, make_loan(app, branch, "Nduta", principal=principal, disburse=False))


def pin_times(owner: Engine, day: date) -> None:
    """Every till session on `day`, opened at 08:02, counted at 17:02, closed at 17:32; the cash movements of
    the sessions 17 minutes apart from 08:19 (a snapshot's times, nothing else, are changed)."""
    at = datetime(day.year, day.month, day.day, 8, 2).astimezone()
    with owner.begin() as conn:
        # The ledger refuses changes to posted rows by trigger; the test's owner steps round it for the times only.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE till_sessions SET business_date = :d, opened_at = :at"), {"d": day, "at": at})
        conn.execute(text("UPDATE till_sessions SET counted_at = :at WHERE counted_at IS NOT NULL"),
                     {"at": at + timedelta(hours=9)})
        conn.execute(text("UPDATE till_sessions SET closed_at = :at WHERE closed_at IS NOT NULL"),
                     {"at": at + timedelta(hours=9, minutes=30)})
        conn.execute(text("""
            UPDATE transactions t SET created_at = :at + make_interval(mins => 17 * n.rank::int)
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM transactions
                  WHERE till_session_id IS NOT NULL) n
            WHERE n.id = t.id
        """), {"at": at})
