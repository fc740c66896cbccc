"""The demo loans: every status, arrears at several days past due, balanced books, idempotent."""

from __future__ import annotations

from sqlalchemy import Engine, text

from db.demo_loans import PLANS, add_months, seed_demo_loans
from tests.ledger.helpers import account_balance, scalar

DPD = """
SELECT l.id, l.status,
       coalesce((SELECT greatest(current_date - min(s.due_date), 0) FROM payment_schedules s
                  WHERE s.loan_id = l.id AND s.total_paid < s.total_due), 0) AS dpd
  FROM loans l
"""


def test_demo_loans_cover_every_status_and_keep_the_books(engine: Engine) -> None:
    with engine.begin() as conn:
        created = seed_demo_loans(conn)
    assert created == len(PLANS) >= 24
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM loans GROUP BY status")).tuples().all())
        assert set(statuses) == {"pending", "approved", "rejected", "active", "defaulted", "closed", "written_off"}
        assert sum(statuses.values()) == created
        assert scalar(conn, "SELECT count(*) FROM customers") == 12
        rows = conn.execute(text(DPD)).all()
        active_dpd = sorted(r.dpd for r in rows if r.status == "active")
        defaulted_dpd = sorted(r.dpd for r in rows if r.status == "defaulted")
        assert active_dpd.count(0) >= 6                      # on time
        late = [d for d in active_dpd if d > 0]
        assert len({(d - 1) // 30 for d in late}) >= 3          # 1–30, 31–60, 61–90
        assert all(d > 90 for d in defaulted_dpd) and len(defaulted_dpd) >= 3
        assert scalar(conn, "SELECT count(*) FROM transactions WHERE transaction_type = 'reversal'") >= 2
        # Loan Portfolio = principal still owed on the loans that are not written off.
        still_owed = scalar(conn, "SELECT sum(s.principal_due - s.principal_paid) FROM payment_schedules s "
                                  "JOIN loans l ON l.id = s.loan_id WHERE l.status <> 'written_off'")
        assert account_balance(conn, "1200") == still_owed
        # The audit log names the demo staff, not nobody.
        assert scalar(conn, "SELECT count(*) FROM audit_logs WHERE table_name = 'transactions' "
                            "AND changed_by IS NULL") == 0
    with engine.begin() as conn:
        assert seed_demo_loans(conn) == 0
        assert scalar(conn, "SELECT count(*) FROM loans") == created


def test_demo_loans_use_existing_customers(engine: Engine) -> None:
    with engine.begin() as conn:
        for n in range(15):
            conn.execute(text("INSERT INTO customers (first_name, last_name) VALUES ('C', :n)"), {"n": f"N{n}"})
        seed_demo_loans(conn)
        assert scalar(conn, "SELECT count(*) FROM customers") == 15


def test_add_months_clamps_like_the_schedule() -> None:
    from datetime import date

    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 15), -2) == date(2024, 11, 15)
