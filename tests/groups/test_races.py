"""Two sessions post the same meeting at once (two officers, a retry while the first is still running): one waits
for the other and gets the first sheet's id; the repayments are posted once."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from sqlalchemy import Engine, text

from db.errors import AstrofinError
from db.repositories.groups import CollectionSheetRepository, SheetEntry
from tests.groups.book import TODAY, GroupBook, one
from tests.reliability.faultlib import ledger_problems


def _waiting(owner: Engine) -> bool:
    with owner.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%post_collection_sheet%'")).scalar_one())


def test_a_race_of_two_sessions_posts_once(book: GroupBook) -> None:
    nrb = book.nrb
    supervisor = nrb.staff["supervisor"]
    entries = [SheetEntry(loan, Decimal("1000.00"), True) for loan in nrb.loans]
    results: dict[str, int | BaseException] = {}
    # NRB01 requires tills: the second officer at the counter, a supervisor, opens T2 first.
    with book.owner.begin() as conn:
        till2 = conn.execute(text("INSERT INTO tills (branch_id, code, name) VALUES (:b, 'T2', 'Counter 2') "
                                  "RETURNING id"), {"b": nrb.id}).scalar_one()
    one(book.app, supervisor, "SELECT open_till(:t, 0, :me)", t=till2, me=supervisor.user_id)

    def post(name: str, actor_key: str, key: str) -> None:
        try:
            results[name] = CollectionSheetRepository(book.app, nrb.staff[actor_key]).post(nrb.group, TODAY, entries,
                                                                                         key)
        except AstrofinError as exc:
            results[name] = exc

    # The first posting holds the group's row while a blocker (the owner, holding its last loan) keeps it from
    # finishing: the second arrives meanwhile and waits on the group's row, then finds the first's sheet.
    with book.owner.connect() as blocker:
        blocker.execute(text("SELECT 1 FROM loans WHERE id = :l FOR UPDATE"), {"l": nrb.loans[-1]})
        first = threading.Thread(target=post, args=("first", "cashier", "race-1"))
        first.start()
        deadline = time.monotonic() + 30
        while not _waiting(book.owner):
            assert time.monotonic() < deadline, "the first posting should wait on the blocked loan"
            time.sleep(0.05)
        second = threading.Thread(target=post, args=("second", "supervisor", "race-2"))
        second.start()
        time.sleep(0.5)
        with book.owner.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND query LIKE '%post_collection_sheet%'")).scalar_one()
        assert waiting == 2
        blocker.rollback()
    first.join(timeout=60)
    second.join(timeout=60)
    assert isinstance(results["first"], int) and results["second"] == results["first"], results
    with book.owner.connect() as conn:
        sheets = conn.execute(text("SELECT count(*) FROM collection_sheets")).scalar_one()
        paid = conn.execute(text("SELECT count(*), sum(amount), count(DISTINCT created_by) FROM transactions "
                                 "WHERE transaction_type = 'repayment'")).one()
    assert sheets == 1 and tuple(paid) == (4, Decimal("4000.00"), 1)
    assert ledger_problems(book.owner) == []
