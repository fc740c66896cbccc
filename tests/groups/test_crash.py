"""The server SIGKILLed in the middle of posting a sheet (three repayments written, the fourth waiting on its loan):
after the restart nothing of the sheet is there, the books are sound, and the sheet posts whole."""

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

from db.engine import make_engine
from db.errors import DatabaseUnavailable
from db.repositories.groups import CollectionSheetRepository, SheetEntry
from tests.groups.book import TODAY, build_group_book
from tests.reliability.faultlib import FaultServer, ledger_problems


@pytest.fixture(scope="module")
def crash_server() -> Iterator[FaultServer]:
    """A server of this test's own (never the session's shared one): it is SIGKILLed."""
    root = Path(tempfile.mkdtemp(prefix="astrofin-group-crash-"))
    root.chmod(0o755)
    server = FaultServer(root)
    try:
        server.prepare_template()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _posting_waits(owner: Engine) -> bool:
    with owner.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%post_collection_sheet%'")).scalar_one())


def _written(owner: Engine) -> tuple[int, int, int]:
    with owner.connect() as conn:
        return tuple(conn.execute(text(  # type: ignore[return-value]
            "SELECT (SELECT count(*) FROM collection_sheets), (SELECT count(*) FROM collection_sheet_lines), "
            "(SELECT count(*) FROM transactions WHERE transaction_type = 'repayment')")).one())


def test_a_server_killed_while_posting_leaves_nothing_of_the_sheet(crash_server: FaultServer) -> None:
    url = crash_server.fresh_database()
    owner = create_engine(url, poolclass=pool.NullPool)
    app: Engine = make_engine(url.set(username="astrofin_app"))
    try:
        book = build_group_book(owner, app)
        nrb = book.nrb
        sheets = CollectionSheetRepository(app, nrb.staff["cashier"])
        entries = [SheetEntry(loan, Decimal("1000.00"), True) for loan in nrb.loans]
        outcome: list[BaseException | int] = []

        def post() -> None:
            try:
                outcome.append(sheets.post(nrb.group, TODAY, entries, uuid.uuid4().hex))
            except Exception as exc:  # the server goes away under it
                outcome.append(exc)

        blocker = owner.connect()
        blocker.execute(text("SELECT 1 FROM loans WHERE id = :l FOR UPDATE"), {"l": nrb.loans[-1]})
        poster = threading.Thread(target=post)
        poster.start()
        deadline = time.monotonic() + 30
        while not _posting_waits(owner):
            assert time.monotonic() < deadline, "the posting should wait on its last loan"
            time.sleep(0.05)
        crash_server.kill()
        poster.join(timeout=60)
        assert len(outcome) == 1 and isinstance(outcome[0], DatabaseUnavailable), outcome
        crash_server.restart()
        app.dispose()
        blocker.invalidate()
        gc.collect()

        assert _written(owner) == (0, 0, 0)
        assert ledger_problems(owner) == []
        sheet = sheets.post(nrb.group, TODAY, entries, uuid.uuid4().hex)
        assert _written(owner) == (1, 4, 4)
        assert sheets.receipt(sheet).total == Decimal("4000.00")
        assert ledger_problems(owner) == []
    finally:
        app.dispose()
        owner.dispose()
        crash_server.drop_database(url.database or "")
