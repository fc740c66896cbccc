"""Kill the app process (SIGKILL, and SIGHUP as a dropped SSH session sends) at random points of a payment:
the payment either exists whole or not at all, and retrying with the form's key records it once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from db.repositories.payments import PaymentRepository
from tests.reliability.faultlib import (
    TODAY,
    ledger_problems,
    make_active_loans,
    payments_by_key,
    record,
    scale,
    staff_actors,
)

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = "40.00"


def _spawn(url: URL, loan: int, key: str, cashier: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.pay_once", url.render_as_string(hide_password=False), str(loan),
         AMOUNT, key, str(cashier)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + (proc.stderr.read() if proc.stderr else "")
    return proc


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _call_seconds(url: URL, loan: int, cashier: int) -> float:
    """How long one payment takes in the child, from 'go' to its acknowledgement."""
    proc = _spawn(url, loan, uuid.uuid4().hex, cashier)
    _go(proc)
    out, err = proc.communicate(timeout=60)
    assert out.startswith("ACK"), out + err
    return float(out.split()[2])


def test_killing_the_app_mid_payment_leaves_it_whole_or_absent(fault_url: URL, fault_engine: Engine) -> None:
    actors = staff_actors(fault_engine)
    cashier = actors["cashier"]
    loans = make_active_loans(fault_engine, actors, 2)
    window = _call_seconds(fault_url, loans[0], cashier.user_id)
    rng = random.Random(99)
    kills = 4 * scale()
    outcomes: dict[str, dict[str, int]] = {}
    for n in range(kills):
        signum = signal.SIGKILL if n % 2 == 0 else signal.SIGHUP
        loan = loans[n % 2]
        key = uuid.uuid4().hex
        proc = _spawn(fault_url, loan, key, cashier.user_id)
        _go(proc)
        time.sleep(rng.uniform(0, window * 1.3))
        proc.send_signal(signum)
        out, _err = proc.communicate(timeout=60)
        acked = out.startswith("ACK")
        present = payments_by_key(fault_engine).get(key, [])
        assert len(present) <= 1
        if acked:
            assert present, "an acknowledged payment is missing"
        # Whole or absent: a present payment has its receipt number, journal entry and schedule update.
        assert ledger_problems(fault_engine) == []
        state = "acknowledged" if acked else ("committed, unacknowledged" if present else "absent")
        per_signal = outcomes.setdefault(signal.Signals(signum).name, {})
        per_signal[state] = per_signal.get(state, 0) + 1
        receipt = PaymentRepository(fault_engine, cashier).record(loan, Decimal(AMOUNT), TODAY, key)
        if present:
            assert [receipt.transaction_id] == present
        assert payments_by_key(fault_engine)[key] == [receipt.transaction_id]
        assert ledger_problems(fault_engine) == []
    summary = "; ".join(f"{name}: " + ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
                        for name, states in sorted(outcomes.items()))
    record("SIGKILL / SIGHUP of an app process at a random point of PaymentRepository.record "
           f"(call takes ~{window * 1000:.0f} ms)", kills,
           f"{summary}; every payment whole or absent, never partial; retry with the same key: recorded "
           "exactly once each (the committed ones returned the same payment)")
