"""The server SIGKILLed while a close holds its till (counted, not committed) and a payment waits behind it: after
the restart the session is open as it was, its figures whole, the waiting payment absent, and it closes normally."""

from __future__ import annotations

import gc
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from db.engine import make_engine, unit_of_work
from db.errors import DatabaseUnavailable
from db.repositories.payments import PaymentRepository
from db.repositories.tills import TillRepository
from tests.reliability.faultlib import FaultServer, ledger_problems
from tests.tills.book import TODAY, build_till_book

FLOAT = Decimal("2000.00")


@pytest.fixture(scope="module")
def crash_server() -> Iterator[FaultServer]:
    """A server of this test's own (never the session's shared one): it is SIGKILLed."""
    root = Path(tempfile.mkdtemp(prefix="astrofin-till-crash-"))
    root.chmod(0o755)
    server = FaultServer(root)
    try:
        server.prepare_template()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _waiting_for_a_lock(owner: Engine) -> bool:
    with owner.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%record_loan_payment%'")).scalar_one())


def test_a_server_killed_during_a_close_leaves_the_session_open_and_whole(crash_server: FaultServer) -> None:
    url = crash_server.fresh_database()
    owner = create_engine(url, poolclass=pool.NullPool)
    app: Engine = make_engine(url.set(username="astrofin_app"))
    try:
        book = build_till_book(owner, app, loans=3)
        nrb = book.nrb
        cashier = nrb.staff["cashier"]
        tills = TillRepository(app, cashier)
        session = tills.open(nrb.tills["T1"], FLOAT)
        pay = PaymentRepository(app, cashier)
        taken = [pay.record(loan, Decimal("250.00"), TODAY, uuid.uuid4().hex) for loan in nrb.loans[:2]]

        waiting: list[BaseException | int] = []

        def pay_behind_the_close() -> None:
            try:
                waiting.append(pay.record(nrb.loans[2], Decimal("75.00"), TODAY, uuid.uuid4().hex).transaction_id)
            except Exception as exc:  # the server goes away under it
                waiting.append(exc)

        with pytest.raises(DBAPIError), unit_of_work(app, cashier) as work:
            status = work.execute(text("SELECT close_till(:s, :c, NULL, :me)"),
                                  {"s": session.id, "c": FLOAT + Decimal("500.00"),
                                   "me": cashier.user_id}).scalar_one()
            assert status == "closed"  # counted, posted, not committed: the session row is locked FOR UPDATE
            payer = threading.Thread(target=pay_behind_the_close)
            payer.start()
            deadline = time.monotonic() + 30
            while not _waiting_for_a_lock(owner):
                assert time.monotonic() < deadline, "the payment should be waiting for the close's lock"
                time.sleep(0.05)
            crash_server.kill()
        payer.join(timeout=60)
        assert len(waiting) == 1 and isinstance(waiting[0], DatabaseUnavailable), waiting
        crash_server.restart()
        # The connections the kill cut off are dropped now, not by the garbage collector at some later moment (their
        # finaliser logs a traceback, which in Python 3.11 must not happen while pytest is parsing a module).
        app.dispose()
        gc.collect()

        with owner.connect() as conn:
            row = conn.execute(text("SELECT * FROM till_sessions WHERE id = :s"), {"s": session.id}).one()
            in_till = conn.execute(text("SELECT count(*), coalesce(sum(amount), 0) FROM transactions "
                                        "WHERE till_session_id = :s"), {"s": session.id}).one()
            vault_entries = conn.execute(text(
                "SELECT count(*) FROM journal_entries WHERE description LIKE 'Close of till%'")).scalar_one()
        assert (row.status, row.counted_cash, row.expected_cash, row.difference, row.counted_by, row.closed_at,
                row.close_entry_id) == ("open", None, None, None, None, None, None)
        assert tuple(in_till) == (2, Decimal("500.00"))
        assert vault_entries == 0
        assert ledger_problems(owner) == []

        # The counter carries on: the session is theirs, with its figures, and closes as any other.
        mine = TillRepository(app, cashier).my_open_session()
        assert mine is not None and (mine.id, mine.expected_cash, mine.receipt_count) == (
            session.id, FLOAT + Decimal("500.00"), 2)
        assert {t.transaction_id for t in taken} <= {t for (t,) in owner.connect().execute(text(
            "SELECT id FROM transactions WHERE till_session_id = :s"), {"s": session.id})}
        assert TillRepository(app, cashier).close(session.id, FLOAT + Decimal("500.00"), None).status == "closed"
        assert ledger_problems(owner) == []
    finally:
        app.dispose()
        owner.dispose()
        crash_server.drop_database(url.database or "")
