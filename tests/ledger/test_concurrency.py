"""Concurrent payments: separate connections at once; nothing lost, nothing doubled, no deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from db.engine import Actor, unit_of_work
from tests.ledger.helpers import Staff, account_balance, active_loan, sqlstate

D = Decimal


def run_at_once(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run work(0..count-1) in threads released together; return results and errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a payment thread hung"
    return results, errors


def record(engine: Engine, staff: Staff, loan: int, amount: str, key: str | None) -> int:
    with unit_of_work(engine, Actor(staff.cashier, "cashier", "cashier")) as s:
        return s.execute(text("SELECT record_loan_payment(:l, :a, current_date, :u, :k)"),
                         {"l": loan, "a": D(amount), "u": staff.cashier, "k": key}).scalar_one()


def test_eight_threads_paying_one_loan(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)

    def work(i: int) -> list[int]:
        return [record(engine, staff, loan, "100.00", f"one-loan-{i}-{n}") for n in range(5)]

    results, errors = run_at_once(8, work)
    assert errors == []
    ids = [t for batch in results for t in batch]
    assert len(set(ids)) == 40
    with engine.connect() as conn:
        paid = conn.execute(text("SELECT sum(total_paid) FROM payment_schedules WHERE loan_id = :l"),
                            {"l": loan}).scalar_one()
        count, receipts, total = conn.execute(text(
            "SELECT count(*), count(DISTINCT receipt_number), sum(amount) FROM transactions "
            "WHERE loan_id = :l AND transaction_type = 'repayment'"), {"l": loan}).one()
        principal = conn.execute(text("SELECT sum(principal_amount) FROM transactions WHERE loan_id = :l "
                                      "AND transaction_type = 'repayment'"), {"l": loan}).scalar_one()
        assert (count, receipts, total, paid) == (40, 40, D("4000.00"), D("4000.00"))
        assert account_balance(conn, "1200") == D("10000.00") - principal
        assert account_balance(conn, "1000") == D("-10000.00") + D("4000.00")


def test_eight_threads_paying_eight_loans(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loans = [active_loan(conn, staff) for _ in range(8)]

    def work(i: int) -> list[int]:
        return [record(engine, staff, loans[i], "250.00", f"eight-loans-{i}-{n}") for n in range(5)]

    results, errors = run_at_once(8, work)
    assert errors == []
    assert len({t for batch in results for t in batch}) == 40
    with engine.connect() as conn:
        per_loan = dict(conn.execute(text(
            "SELECT loan_id, sum(total_paid) FROM payment_schedules WHERE loan_id = ANY(:ls) GROUP BY loan_id"),
            {"ls": loans}).tuples().all())
        assert per_loan == {loan: D("1250.00") for loan in loans}
        assert account_balance(conn, "1000") == D("-80000.00") + D("10000.00")


def test_two_threads_with_the_same_key_make_one_payment(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loan = active_loan(conn, staff)
    for attempt in range(5):
        key = f"double-click-{attempt}"
        results, errors = run_at_once(2, lambda _i, key=key: record(engine, staff, loan, "50.00", key))
        assert errors == []
        assert results[0] == results[1]
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM transactions WHERE loan_id = :l "
                                  "AND transaction_type = 'repayment'"), {"l": loan}).scalar_one()
        paid = conn.execute(text("SELECT sum(total_paid) FROM payment_schedules WHERE loan_id = :l"),
                            {"l": loan}).scalar_one()
    assert (count, paid) == (5, D("250.00"))


def test_same_key_on_two_loans_at_once_is_one_payment_and_one_refusal(engine: Engine, staff: Staff) -> None:
    with engine.begin() as conn:
        loans = [active_loan(conn, staff), active_loan(conn, staff)]
    results, errors = run_at_once(2, lambda i: record(engine, staff, loans[i], "50.00", "shared-key"))
    assert len(errors) == 1 and sqlstate(errors[0]) == "P0107"
    assert "already used for another payment" in str(errors[0])
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM transactions WHERE idempotency_key = 'shared-key'")
                             ).scalar_one()
    assert count == 1
    assert len([r for r in results if r is not None]) == 1
