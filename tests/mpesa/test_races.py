"""Posted once under races: two sessions posting the same receipt, the same receipt received by two sessions at
once, and the service killed between the inbox write and the posting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.engine import Actor
from db.repositories.mobile_money import MobileMoneyRepository
from tests.groups.book import GroupBook
from tests.mpesa.helpers import loan_number, receipt, scalar
from tests.reliability.faultlib import ledger_problems


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls in threads released at the same moment; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 (reported by the assertions)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_sessions_posting_the_same_receipt_post_it_once(book: GroupBook, mpesa: Actor, engine: Engine) -> None:
    number = loan_number(engine, book.nrb.loans[0])
    repo = MobileMoneyRepository(book.app, mpesa)
    received = repo.receive(receipt("RACE1", "400.00", number)).receipt_id
    # The first posting waits on the loan (held by the owner) while holding the inbox row; the second arrives then.
    with engine.connect() as blocker:
        blocker.execute(text("SELECT 1 FROM loans WHERE id = :l FOR UPDATE"), {"l": book.nrb.loans[0]})
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(MobileMoneyRepository(book.app, mpesa)
                                                                  .post(received))) for _ in range(2)]
        for t in threads:
            t.start()
        _wait_for_locks(engine, 2)
        blocker.rollback()
        for t in threads:
            t.join(timeout=60)
    assert len(results) == 2 and results[0] == results[1] and results[0].status == "posted", results
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_reference = 'RACE1'") == 1
    assert ledger_problems(engine) == []


def _wait_for_locks(engine: Engine, count: int) -> None:
    import time
    deadline = time.monotonic() + 30
    while True:
        waiting = scalar(engine, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND query LIKE '%mobile_money_post%'")
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} sessions waiting, expected {count}"
        time.sleep(0.05)


def test_the_same_receipt_received_twice_at_once_is_one_row_posted_once(book: GroupBook, mpesa: Actor,
                                                                         engine: Engine) -> None:
    number = loan_number(engine, book.nrb.loans[1])

    def deliver() -> tuple[bool, str]:
        repo = MobileMoneyRepository(book.app, mpesa)
        got = repo.receive(receipt("TWICE1", "250.00", number, source="callback"))
        return got.is_new, repo.post(got.receipt_id).status

    results = _together([deliver] * 4)
    assert sorted(r[0] for r in results) == [False, False, False, True], results
    assert {r[1] for r in results} == {"posted"}
    assert scalar(engine, "SELECT count(*) FROM mobile_money_receipts WHERE receipt_number = 'TWICE1'") == 1
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_reference = 'TWICE1'") == 1
    assert ledger_problems(engine) == []


def test_killed_between_receive_and_post_the_next_session_posts_it_once(book: GroupBook, mpesa: Actor,
                                                                        engine: Engine) -> None:
    number = loan_number(engine, book.nrb.loans[0])
    # The service received and committed, then died: nothing posted.
    first = MobileMoneyRepository(book.app, mpesa)
    ids = [first.receive(receipt(f"CRASH{i}", "100.00", number if i else "nobody")).receipt_id for i in range(3)]
    book.app.dispose()  # every connection of the dead service gone
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_method = 'mobile_money'") == 0
    # It comes back: a new session posts what is pending, twice over (a retry), and everything once.
    again = MobileMoneyRepository(book.app, mpesa)
    assert again.pending() == ids
    postings = [again.post(i) for i in again.pending()]
    assert [p.status for p in postings] == ["suspense", "posted", "posted"]
    assert again.pending() == []
    assert [again.post(i) for i in ids] == postings
    assert scalar(engine, "SELECT count(*) FROM transactions WHERE payment_method = 'mobile_money'") == 2
    assert Decimal(scalar(engine, "SELECT sum(suspense_amount) FROM mobile_money_receipts")) == Decimal("100.00")
    assert ledger_problems(engine) == []
