"""The scale book's products carry late rules, so the daily run charges its arrears (a small book)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.scale_seed import seed_scale


def test_the_scale_book_is_charged_once(db_url: URL, engine: Engine) -> None:
    seed_scale(db_url, 300, random_seed=7, today=date.today())
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan_charges")).scalar() == 0  # the seed writes none
        written = conn.execute(text("SELECT apply_overdue_penalties()")).scalar()
    with engine.begin() as conn:
        assert written and written > 0
        assert conn.execute(text("SELECT apply_overdue_penalties()")).scalar() == 0
        charged, owed = conn.execute(text(
            "SELECT (SELECT sum(amount) FROM loan_charges), (SELECT sum(penalty_due) FROM payment_schedules)")).one()
        assert charged == owed
        statuses = set(conn.execute(text(
            "SELECT DISTINCT l.status FROM loan_charges c JOIN loans l ON l.id = c.loan_id")).scalars())
        assert statuses <= {"active", "defaulted"}
