"""Under the branches' row-level security, PAR adds up its scope's running totals (0026), never the loans."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from db.engine import act_as
from tests.branches.book import Book


def _par_plan(engine: Engine, book: Book, code: str) -> str:
    """The plan of calculate_par(30)'s reading of loans as the supervisor of `code`, in that person's role (the
    superuser loads auto_explain, then takes the role: the policies apply), sequential scans priced out."""
    branch = next(b for b in book.branches if b.code == code)
    found: list[str] = []
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        raw.add_notice_handler(lambda d: found.append(str(getattr(d, "message_primary", ""))))  # type: ignore[union-attr]
        for setting in ("LOAD 'auto_explain'", "SET LOCAL auto_explain.log_min_duration = 0",
                        "SET LOCAL auto_explain.log_nested_statements = on", "SET LOCAL client_min_messages = log",
                        "SET LOCAL enable_seqscan = off", "SET LOCAL enable_bitmapscan = off"):
            conn.execute(text(setting))
        conn.execute(text("ANALYZE loans"))
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            act_as(session, branch.staff["supervisor"])
            par = session.execute(text("SELECT calculate_par(30, :d)"), {"d": date.today()}).scalar_one()
        assert par is not None
        conn.execute(text("RESET ROLE"))
    return "\n".join(plan for plan in found if "oldest_unpaid_due_date < v_as_of" in plan)


@pytest.mark.parametrize("code", ["HQ", "NRB01", "MSA01"])
def test_par_adds_up_the_scopes_running_totals_not_its_loans(engine: Engine, book: Book, code: str) -> None:
    plan = _par_plan(engine, book, code)
    # Both the folded totals and the changes since, each held to the caller's branches by its policy.
    assert "on loan_arrears_totals" in plan and "on loan_arrears_changes" in plan, plan
    assert plan.count("branch_id = ANY ((InitPlan") == 2, plan
    assert " on loans " not in plan, plan
