"""The demo: two centers of three groups of 8 to 12 members, group loans in every state with due dates on meeting
days, repaid through posted sheets; the books balance."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from db.seed import seed_database
from tests.reliability.faultlib import ledger_problems


def test_the_demo_has_centers_groups_and_group_loans_in_every_state(db_url: URL, engine: Engine) -> None:
    seed_database(db_url, demo=True)
    with engine.connect() as conn:
        centers = conn.execute(text(
            "SELECT c.name, b.code, count(g.id), min(m.n), max(m.n) FROM groups c "
            "JOIN branches b ON b.id = c.branch_id JOIN groups g ON g.parent_id = c.id "
            "JOIN LATERAL (SELECT count(*) AS n FROM group_members WHERE group_id = g.id AND left_on IS NULL) m "
            "ON true "
            "WHERE c.kind = 'center' GROUP BY c.name, b.code ORDER BY b.code")).all()
        statuses = set(conn.execute(text("SELECT DISTINCT status FROM loans WHERE group_id IS NOT NULL")).scalars())
        off_day = conn.execute(text(
            "SELECT count(*) FROM payment_schedules s JOIN loans l ON l.id = s.loan_id "
            "JOIN groups g ON g.id = l.group_id "
            "WHERE extract(isodow FROM s.due_date) <> g.meeting_weekday "
            "OR (s.due_date - g.first_meeting_date) % CASE g.meeting_frequency WHEN 'biweekly' THEN 14 ELSE 7 END <> 0"
        )).scalar_one()
        sheets = conn.execute(text("SELECT count(*), count(DISTINCT group_id) FROM collection_sheets")).one()
        arrears = conn.execute(text(
            "SELECT count(*) FROM collection_sheet(:c, current_date) WHERE arrears > 0"),
            {"c": conn.execute(text("SELECT min(id) FROM groups WHERE kind = 'center'")).scalar_one()}).scalar_one()
    assert [(c[1], c[2]) for c in centers] == [("MSA01", 3), ("NRB01", 3)]
    assert all(8 <= c[3] and c[4] <= 15 for c in centers)
    assert statuses == {"pending", "approved", "rejected", "active", "closed", "defaulted", "written_off"}
    assert off_day == 0
    assert sheets[0] > 10 and sheets[1] == 2
    assert arrears > 0
    # The demo's two reversed payments (individual loans) are still counted as repayments by this check.
    assert ledger_problems(engine) in ([], ["2 loans whose schedule disagrees with their repayments"])
    with engine.connect() as conn:
        mismatched = conn.execute(text(
            "SELECT count(*) FROM loans l WHERE l.group_id IS NOT NULL AND "
            "(SELECT coalesce(sum(total_paid), 0) FROM payment_schedules s WHERE s.loan_id = l.id) <> "
            "(SELECT coalesce(sum(amount), 0) FROM transactions t WHERE t.loan_id = l.id "
            " AND t.transaction_type = 'repayment')")).scalar_one()
    assert mismatched == 0
    # Twice adds nothing.
    assert seed_database(db_url, demo=True).inserted["groups"] == 0
