"""The supervisor's overview: a day's sessions (and any still open or waiting from before), tills and the vault."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from db.engine import Actor
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, VAULT, TillBook


def test_the_days_sessions_and_those_still_open_or_waiting(till_book: TillBook) -> None:
    nrb, msa, app, owner = till_book.nrb, till_book.msa, till_book.app, till_book.owner
    yesterday = TODAY - timedelta(days=1)
    closed_before = TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T1"], Decimal("100.00"))
    TillRepository(app, nrb.staff["cashier"]).close(closed_before.id, Decimal("100.00"), None)
    waiting = TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T1"], Decimal("200.00"))
    TillRepository(app, nrb.staff["cashier"]).close(waiting.id, Decimal("150.00"), "Fifty short")
    left_open = TillRepository(app, nrb.staff["cashier2"]).open(nrb.tills["T2"], Decimal("300.00"))
    with owner.begin() as conn:  # all three from yesterday
        conn.execute(text("UPDATE till_sessions SET business_date = :d"), {"d": yesterday})
    today = TillRepository(app, nrb.staff["cashier"]).open(nrb.tills["T1"], Decimal("400.00"))
    other_branch = TillRepository(app, msa.staff["cashier"]).open(msa.tills["T1"], Decimal("500.00"))

    supervisor = TillRepository(app, nrb.staff["supervisor"])
    assert [(s.id, s.till_code, s.status) for s in supervisor.sessions(TODAY)] == [
        (waiting.id, "T1", "pending_approval"), (today.id, "T1", "open"), (left_open.id, "T2", "open")]
    # Yesterday's: all three, and today's too while it is open.
    assert {s.id for s in supervisor.sessions(yesterday)} == {closed_before.id, waiting.id, left_open.id, today.id}
    assert other_branch.id not in {s.id for s in supervisor.sessions(TODAY)}
    assert [(t.code, t.open_session_id, t.held_by) for t in supervisor.tills()] == [
        ("T1", today.id, "Cashier NRB01"), ("T2", left_open.id, "Cashier2 NRB01")]
    # The float of every session left the vault; what came back is the first (exact) count only.
    assert supervisor.vault_balance() == VAULT - Decimal("1000.00") + Decimal("100.00")
    # Head office sees every branch's sessions.
    with owner.connect() as conn:
        hq_supervisor = conn.execute(text("SELECT id FROM users WHERE username = 'supervisor'")).scalar_one()
    head = TillRepository(app, Actor(hq_supervisor, "supervisor", "supervisor"))
    assert other_branch.id in {s.id for s in head.sessions(TODAY)}
    assert [s.branch_code for s in head.sessions(TODAY)] == ["MSA01", "NRB01", "NRB01", "NRB01"]
