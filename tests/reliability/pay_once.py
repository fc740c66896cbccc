"""A small app process for the kill test: record one payment through the repository, on a signal from stdin.

    python -m tests.reliability.pay_once URL LOAN_ID AMOUNT KEY CASHIER_ID

It handles SIGHUP/SIGTERM as the app does (db.embedded.stop_on_hangup), connects, says READY, waits for
a line on stdin, records the payment, says ACK <transaction id>, and exits.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from db.embedded import stop_on_hangup
from db.engine import Actor, make_engine
from db.repositories.payments import PaymentRepository


def main(argv: list[str]) -> int:
    url, loan, amount, key, cashier = argv
    stop_on_hangup()
    engine = make_engine(url)
    repo = PaymentRepository(engine, Actor(int(cashier), "cashier", "cashier"))
    with engine.connect() as conn:  # warm the pool and the statement caches: the timed part is the payment
        conn.execute(text("SELECT 1"))
    repo.amounts_due(int(loan), date.today())
    print("READY", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    receipt = repo.record(int(loan), Decimal(amount), date.today(), key)
    print(f"ACK {receipt.transaction_id} {time.perf_counter() - started:.4f}", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
