"""Payments recorded into a till while it is being closed, from several connections at once: each is either in that
session's expected cash or refused with the open-your-till message; none is lost, none counted twice."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import text

from db.engine import Actor, unit_of_work
from db.errors import AstrofinError
from db.repositories.payments import PaymentRepository
from db.repositories.tills import TillRepository
from tests.tills.book import TODAY, TillBook

AMOUNT = Decimal("10.00")
FLOAT = Decimal("1000.00")
OPEN_FIRST = "Open your till first: cash in NRB01 is taken into an open till (press o on the home screen)"


@dataclass
class Payer:
    loan: int
    taken: dict[int, str | None] = field(default_factory=dict)  # transaction -> till code on its receipt
    refusals: list[str] = field(default_factory=list)


def _pay_until_refused(till_book: TillBook, cashier: Actor, payer: Payer, start: threading.Event) -> None:
    repo = PaymentRepository(till_book.app, cashier)
    start.wait()
    while True:
        try:
            receipt = repo.record(payer.loan, AMOUNT, TODAY, uuid.uuid4().hex)
        except AstrofinError as exc:
            payer.refusals.append(str(exc))
            return
        payer.taken[receipt.transaction_id] = receipt.till_code


def _slow_payment(till_book: TillBook, cashier: Actor, loan: int, done: list[int],
                  recorded: threading.Event) -> None:
    """A payment whose transaction is still open, holding the session, when the close arrives."""
    with unit_of_work(till_book.app, cashier) as session:
        done.append(session.execute(text("SELECT record_loan_payment(:l, :a, :d, :me, :k)"),
                                    {"l": loan, "a": AMOUNT, "d": TODAY, "me": cashier.user_id,
                                     "k": uuid.uuid4().hex}).scalar_one())
        recorded.set()
        session.execute(text("SELECT pg_sleep(0.5)"))


def _all_paying(payers: list[Payer]) -> bool:
    """Every payer has recorded a payment (and is recording the next ones)."""
    return all(p.taken for p in payers)


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the payers did not start"
        time.sleep(0.01)


def test_payments_racing_a_close_are_counted_once_or_refused(till_book: TillBook) -> None:
    nrb, app, owner = till_book.nrb, till_book.app, till_book.owner
    cashier = nrb.staff["cashier"]
    tills = TillRepository(app, cashier)
    for round_number in range(3):
        session = tills.open(nrb.tills["T1"], FLOAT)
        payers = [Payer(loan) for loan in nrb.loans[:3]]
        slow: list[int] = []
        start = threading.Event()
        threads = [threading.Thread(target=_pay_until_refused, args=(till_book, cashier, p, start))
                   for p in payers]
        recorded = threading.Event()
        slow_thread = threading.Thread(target=_slow_payment,
                                       args=(till_book, cashier, nrb.loans[3], slow, recorded))
        for thread in threads:
            thread.start()
        start.set()
        _wait_for(functools.partial(_all_paying, payers))
        slow_thread.start()
        # The slow payment holds the session FOR KEY SHARE, uncommitted: the close must wait for it.
        assert recorded.wait(30)
        closed = tills.close(session.id, Decimal("0.00"), f"Race round {round_number}: counted nothing")
        for thread in (*threads, slow_thread):
            thread.join(timeout=60)

        # Every payer was stopped by the close, with the message, and only by it.
        assert all(p.refusals == [OPEN_FIRST] for p in payers), [p.refusals for p in payers]
        taken = {txn: code for p in payers for txn, code in p.taken.items()}
        assert len(slow) == 1 and taken and all(code == "T1" for code in taken.values())
        with owner.connect() as conn:
            in_till = dict(conn.execute(text(
                "SELECT id, amount FROM transactions WHERE till_session_id = :s"), {"s": session.id}).tuples().all())
            stray = conn.execute(text(
                "SELECT count(*) FROM transactions WHERE created_by = :me AND till_session_id IS NULL "
                "AND transaction_type = 'repayment'"), {"me": cashier.user_id}).scalar_one()
            stored = conn.execute(text("SELECT expected_cash, status FROM till_sessions WHERE id = :s"),
                                  {"s": session.id}).one()
        # None lost: every acknowledged payment (and the slow one) is in the till; nothing else is.
        assert set(in_till) == set(taken) | set(slow)
        assert stray == 0
        # None counted twice, none missed: the close's expected cash is the float and exactly those payments.
        assert stored.expected_cash == closed.expected_cash == FLOAT + sum(in_till.values(), Decimal(0))
        assert stored.status == "pending_approval"
        TillRepository(app, nrb.staff["supervisor"]).approve(session.id)
