"""The scale seed puts about half of its customers in groups: group loans due on meeting days, one active group per
customer, centers whose sheets load and post."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import create_engine, pool, text

from db.scale_seed import seed_scale
from tests.reliability.faultlib import ledger_problems


def test_half_of_the_scale_customers_are_in_groups(pg_server) -> None:  # type: ignore[no-untyped-def]
    name = f"s_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        report = seed_scale(url, 800, random_seed=5, today=date.today())
        with engine.connect() as conn:
            customers, members, distinct = conn.execute(text(
                "SELECT (SELECT count(*) FROM customers), count(*), count(DISTINCT customer_id) FROM group_members "
                "WHERE left_on IS NULL")).one()
            off_day = conn.execute(text(
                "SELECT count(*) FROM payment_schedules s JOIN loans l ON l.id = s.loan_id "
                "JOIN groups g ON g.id = l.group_id WHERE extract(isodow FROM s.due_date) <> g.meeting_weekday"
            )).scalar_one()
            outsiders = conn.execute(text(
                "SELECT count(*) FROM loans l WHERE l.group_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM group_members m WHERE m.group_id = l.group_id AND m.customer_id = l.customer_id "
                "AND m.left_on IS NULL)")).scalar_one()
            wrong_branch = conn.execute(text(
                "SELECT count(*) FROM group_members m JOIN groups g ON g.id = m.group_id "
                "JOIN customers c ON c.id = m.customer_id WHERE m.branch_id <> g.branch_id "
                "OR c.branch_id <> g.branch_id OR (g.parent_id IS NOT NULL AND g.branch_id <> "
                "(SELECT p.branch_id FROM groups p WHERE p.id = g.parent_id))")).scalar_one()
            center, loans = conn.execute(text(
                "SELECT l_group.parent_id, count(*) FROM loans l JOIN groups l_group ON l_group.id = l.group_id "
                "WHERE l.status IN ('active', 'defaulted') AND l_group.parent_id IS NOT NULL "
                "GROUP BY l_group.parent_id ORDER BY count(*) DESC LIMIT 1")).one()
            cashier, day = conn.execute(text(
                "SELECT (SELECT id FROM users WHERE role = 'cashier' AND is_active ORDER BY id LIMIT 1), "
                "next_meeting_date(:c, current_date - 6)"), {"c": center}).one()
        assert customers == 800 and members == distinct
        assert 0.4 * customers <= members <= 0.6 * customers
        assert report.members > 0 and off_day == 0 and outsiders == 0 and wrong_branch == 0
        assert loans >= 2  # a small book: few borrowers per branch and weekday
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(cashier)})
            rows = conn.execute(text("SELECT loan_id, due FROM collection_sheet(:c, :d)"),
                                {"c": center, "d": day}).all()
            assert len(rows) == loans
            lines = [{"loan_id": r.loan_id, "amount": str(r.due), "attended": True} for r in rows]
            sheet = conn.execute(text("SELECT post_collection_sheet(:c, :d, CAST(:l AS jsonb), :u, 'scale')"),
                                 {"c": center, "d": day, "l": json.dumps(lines), "u": cashier}).scalar_one()
            total = conn.execute(text("SELECT total FROM collection_sheets WHERE id = :s"), {"s": sheet}).scalar_one()
        assert total == sum((Decimal(r.due) for r in rows), Decimal("0"))
        assert ledger_problems(engine) == []
    finally:
        engine.dispose()
        pg_server.drop_database(name)
