"""SIGKILL the PostgreSQL server in the middle of a burst of payments from several clients, restart it, and
check that every acknowledged payment is there, nothing else is, and the books still balance."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from db.engine import Actor, make_engine
from db.errors import AstrofinError, DatabaseUnavailable
from db.repositories.payments import PaymentRepository
from tests.reliability.faultlib import (
    TODAY,
    FaultServer,
    ledger_problems,
    make_active_loans,
    payments_by_key,
    record,
    scale,
    staff_actors,
)

AMOUNT = Decimal("5.00")
CLIENTS = 4


@dataclass
class Client:
    """One counter with its own engine: what it was told (acknowledged keys) and the call the crash cut off."""

    number: int
    loans: list[int]
    engine: Engine
    acked: dict[str, int] = field(default_factory=dict)
    cut_off: dict[str, int] = field(default_factory=dict)
    """Keys whose call failed because the server went away: the payment may or may not have committed."""
    unexpected: list[str] = field(default_factory=list)


def _run_client(client: Client, cashier: Actor, stop: threading.Event) -> None:
    """Record payments until the server goes away (or the round ends); keep the cut-off call's key."""
    repo = PaymentRepository(client.engine, cashier)
    turn = client.number
    while not stop.is_set():
        loan = client.loans[turn % len(client.loans)]
        turn += 1
        key = uuid.uuid4().hex
        try:
            receipt = repo.record(loan, AMOUNT, TODAY, key)
        except DatabaseUnavailable:
            client.cut_off[key] = loan
            return
        except AstrofinError as exc:
            client.unexpected.append(f"refused: {exc}")
            return
        except Exception as exc:  # anything else is a defect the test reports
            client.unexpected.append(f"{type(exc).__name__}: {exc}")
            return
        client.acked[key] = receipt.transaction_id


def crash_round(server: FaultServer, clients: list[Client], cashier: Actor, rng: random.Random) -> float:
    """One burst: clients pay, the server is SIGKILLed at a random moment, then restarted."""
    stop = threading.Event()
    threads = [threading.Thread(target=_run_client, args=(c, cashier, stop), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(0.1, 0.4))
    server.kill()
    for thread in threads:
        thread.join(timeout=30)
    stop.set()
    return server.restart()


def test_sigkill_during_a_burst_of_payments_loses_no_acknowledged_payment(
        fault_server: FaultServer, fault_url: URL, fault_engine: Engine) -> None:
    actors = staff_actors(fault_engine)
    cashier = actors["cashier"]
    loans = make_active_loans(fault_engine, actors, CLIENTS + 1)
    shared = loans[-1]  # every client also pays on one shared loan, so they contend for its row lock
    # Each client keeps its engine (its checkout check) across crashes: reconnecting is part of what is tried.
    clients = [Client(n, [loans[n], shared], make_engine(fault_url)) for n in range(CLIENTS)]
    rng = random.Random(9)
    rounds = 2 * scale()
    in_doubt = cut_total = 0
    recoveries = []
    try:
        for _ in range(rounds):
            recoveries.append(crash_round(fault_server, clients, cashier, rng))
            assert not [u for c in clients for u in c.unexpected]
            present = payments_by_key(fault_engine)
            acked = {key: txn for c in clients for key, txn in c.acked.items()}
            cut_off = {key: (c, loan) for c in clients for key, loan in c.cut_off.items()}
            assert all(len(ids) == 1 for ids in present.values()), "a key was recorded twice"
            missing = [key for key in acked if present.get(key) != [acked[key]]]
            assert not missing, f"{len(missing)} acknowledged payments are missing after the crash"
            others = set(present) - set(acked)
            # A payment present without an acknowledgement can only be one whose call the crash cut off
            # (committed, but the reply or the receipt read never arrived): an in-doubt call.
            assert others <= set(cut_off), "a payment nobody asked for is present"
            in_doubt += len(others)
            cut_total += len(cut_off)
            assert ledger_problems(fault_engine) == []
            # The counter retries the cut-off call with the form's key, on the engine it already had.
            for key, (client, loan) in cut_off.items():
                receipt = PaymentRepository(client.engine, cashier).record(loan, AMOUNT, TODAY, key)
                if key in present:
                    assert [receipt.transaction_id] == present[key], "a retry recorded an in-doubt payment again"
                client.acked[key] = receipt.transaction_id
                del client.cut_off[key]
            after = payments_by_key(fault_engine)
            assert all(len(ids) == 1 for ids in after.values())
            assert set(after) == {key for c in clients for key in c.acked}
            assert ledger_problems(fault_engine) == []
    finally:
        for client in clients:
            client.engine.dispose()
    total = sum(len(c.acked) for c in clients)
    assert total > rounds * CLIENTS
    record("SIGKILL of the server (postmaster and all backends) during a burst of payments from "
           f"{CLIENTS} client threads; restart; retry the cut-off calls with their keys", rounds,
           f"acknowledged before the crash = present after restart, every round ({total - cut_total} payments); "
           f"{cut_total} calls cut off, {in_doubt} of them had committed (reply lost) and their retry returned "
           f"the same payment, the other {cut_total - in_doubt} were recorded once by the retry; "
           f"no payment twice; ledger invariants hold; crash recovery {max(recoveries):.2f} s at most")
