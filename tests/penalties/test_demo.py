"""The demo: a product with a penalty rule and loans in arrears charged when the demo is seeded; seeding twice
charges nothing more the same day."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.seed import seed_database


def test_the_demo_seed_charges_its_loans_in_arrears(db_url: URL, engine: Engine) -> None:
    report = seed_database(db_url, demo=True)
    with engine.connect() as conn:
        rules = dict(conn.execute(text("SELECT code, penalty_method FROM loan_products")).all())
        charged = conn.execute(text(
            "SELECT count(*), count(DISTINCT loan_id), sum(amount) FROM loan_charges")).one()
        owed = conn.execute(text("SELECT sum(penalty_due) FROM payment_schedules")).scalar()
    assert rules["MONTHLY-DB"] == "percent_of_overdue_installment" and rules["GROUP-BIWEEKLY"] == "none"
    assert charged[0] > 0 and charged[1] >= 2, charged
    assert owed == charged[2]
    assert "penalty charges" in report.summary()
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan_charges")).scalar() == charged[0]
