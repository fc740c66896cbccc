"""Under the branches' row-level security, PAR reads its scope's active loans from an index alone."""

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
def test_par_reads_the_scopes_loans_from_the_branch_arrears_index_alone(engine: Engine, book: Book,
                                                                       code: str) -> None:
    plan = _par_plan(engine, book, code)
    assert "Index Only Scan using loans_branch_arrears_idx" in plan, plan
