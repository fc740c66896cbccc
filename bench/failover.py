"""Kill the cluster's primary again and again while four counters record payments; count what survives.

    uv run python -m bench.failover --kills 10 [--dir DIR]

Brings up the local Patroni cluster (bench/cluster.py), makes active loans, and starts four clients, each a
cashier's counter recording payments through PaymentRepository over the multi-host connection string
(target_session_attrs=read-write). Each payment has its own idempotency key; a call that fails because the
database is unreachable is retried with the same key until it is acknowledged, as the payment form does. The
primary's postmaster is SIGKILLed, then the campaign waits for a new leader and for the killed node to rejoin
as a streaming replica (Patroni restarts it; pg_rewind when its WAL went further than the new primary's), and
kills again. At the end, on the surviving primary: every acknowledged payment is present exactly once, the
retried keys are not doubled, the journal balances and the trial balance is zero (tests/reliability/faultlib).

Printed: the time from each kill to the first payment accepted again (a call started after the kill and
acknowledged), median and maximum; acknowledged payments lost (must be 0); payments made; calls retried.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, pool

from bench.cluster import DEFAULT_DIR, Cluster, ClusterError, down, up
from db.engine import Actor, make_engine
from db.errors import AstrofinError, DatabaseUnavailable
from db.repositories.payments import PaymentRepository
from tests.reliability.faultlib import TODAY, ledger_problems, make_active_loans, payments_by_key, staff_actors

AMOUNT = Decimal("5.00")
CLIENTS = 4
RETRY_PAUSE = 0.05
"""Seconds a counter waits before it retries a call the lost connection cut off."""
PACE = 0.02
"""Seconds between a counter's payments: a busy counter, not a flood that starves the machine's two cores."""
GIVE_UP = 90.0
"""A call not acknowledged within this many seconds of retrying is a failure of the campaign."""


@dataclass
class Counter:
    """One client: its own engine, the payments it was told about, and every call's attempts."""

    number: int
    loans: list[int]
    engine: Engine
    acked: dict[str, int] = field(default_factory=dict)
    """Idempotency key → the transaction id of the receipt the counter was given."""
    tries: dict[str, int] = field(default_factory=dict)
    acks: list[tuple[float, float]] = field(default_factory=list)
    """(when the acknowledged attempt started, when its receipt came), monotonic seconds."""
    problems: list[str] = field(default_factory=list)


def _count(counter: Counter, cashier: Actor, stop: threading.Event) -> None:
    repo = PaymentRepository(counter.engine, cashier)
    turn = counter.number
    while not stop.is_set():
        loan = counter.loans[turn % len(counter.loans)]
        turn += 1
        key = uuid.uuid4().hex
        first = time.monotonic()
        tries = 0
        while True:  # the same key until a receipt comes: what the form does after "connection lost"
            tries += 1
            started = time.monotonic()
            try:
                receipt = repo.record(loan, AMOUNT, TODAY, key)
            except DatabaseUnavailable as exc:
                if time.monotonic() - first > GIVE_UP:
                    counter.problems.append(f"no receipt for {key} after {GIVE_UP:.0f} s: {exc}")
                    return
                time.sleep(RETRY_PAUSE)
                continue
            except AstrofinError as exc:
                counter.problems.append(f"refused ({type(exc).__name__}): {exc}")
                return
            except Exception as exc:  # anything else is a defect the campaign reports
                counter.problems.append(f"{type(exc).__name__}: {exc}")
                return
            counter.acked[key] = receipt.transaction_id
            counter.tries[key] = tries
            counter.acks.append((started, time.monotonic()))
            break
        time.sleep(PACE)


@dataclass
class Outcome:
    kills: int
    failover_seconds: list[float]
    """Per kill: from the SIGKILL to the first payment accepted again."""
    rejoin_seconds: list[float]
    """Per kill: from the SIGKILL to the killed node streaming again (and a synchronous standby in place)."""
    payments: int
    retried: int
    lost: list[str]
    doubled: list[str]
    unasked: list[str]
    ledger: list[str]
    problems: list[str]
    leaders: list[str]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.unasked or self.ledger or self.problems)

    def report(self) -> str:
        fo = self.failover_seconds
        rj = self.rejoin_seconds or [0.0]
        return "\n".join([
            f"kills of the primary's postmaster: {self.kills} (leaders in turn: {' → '.join(self.leaders)})",
            f"kill to first payment accepted again: median {statistics.median(fo):.2f} s, max {max(fo):.2f} s "
            f"(each: {', '.join(f'{s:.2f}' for s in fo)})",
            f"kill to the old primary streaming as a replica again: median {statistics.median(rj):.1f} s, "
            f"max {max(rj):.1f} s",
            f"payments acknowledged: {self.payments}; calls retried with their key after a lost connection: "
            f"{self.retried}",
            f"acknowledged payments lost: {len(self.lost)}; recorded twice: {len(self.doubled)}; "
            f"present without a call: {len(self.unasked)}",
            f"ledger: {'; '.join(self.ledger) or 'journal balances, trial balance zero, schedules agree'}",
            *(f"problem: {p}" for p in self.problems),
        ])


def campaign(cluster: Cluster, kills: int, *, database: str = "astrofinance", clients: int = CLIENTS,
             seed: int = 23, settle: tuple[float, float] = (0.5, 1.5), rejoin_last: bool = True,
             through_haproxy: bool = False) -> Outcome:
    """Run `kills` kills of the primary under `clients` paying counters; check the books on the survivor.

    Between kills the killed node rejoins as a streaming replica; after the last one only with `rejoin_last`
    (without it the campaign ends once a new primary accepts payments and has a synchronous standby)."""
    rng = random.Random(seed)
    url = cluster.haproxy_url(database) if through_haproxy else cluster.url(database)
    admin = create_engine(cluster.url(database), poolclass=pool.NullPool)
    actors = staff_actors(admin)
    loans = make_active_loans(admin, actors, clients + 1, principal="1000000.00")
    shared = loans[-1]  # every counter also pays one shared loan, so they contend for its row lock
    counters = [Counter(n, [loans[n], shared], make_engine(url)) for n in range(clients)]
    stop = threading.Event()
    threads = [threading.Thread(target=_count, args=(c, actors["cashier"], stop), daemon=True) for c in counters]
    failovers: list[float] = []
    rejoins: list[float] = []
    leader = cluster.wait_healthy()
    leaders = [leader.name]
    problems: list[str] = []
    try:
        for thread in threads:
            thread.start()
        for number in range(1, kills + 1):
            time.sleep(rng.uniform(*settle))
            if any(c.problems for c in counters):
                break
            killed_at = time.monotonic()
            cluster.kill_postmaster(leader)
            new = cluster.wait_leader(60, not_named=leader.name)
            if number < kills or rejoin_last:
                cluster.wait_healthy(90)
                rejoins.append(time.monotonic() - killed_at)
            # The first payment accepted again: an attempt started after the kill that got its receipt.
            deadline = time.monotonic() + GIVE_UP
            after: list[float] = []
            while time.monotonic() < deadline:
                after = [done for c in counters for started, done in list(c.acks) if started >= killed_at]
                if after or any(c.problems for c in counters):
                    break
                time.sleep(0.05)
            if not after:
                problems.append(f"no payment accepted within {GIVE_UP:.0f} s of kill {len(failovers) + 1}")
                break
            failovers.append(min(after) - killed_at)
            leader = new
            leaders.append(new.name)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=GIVE_UP + 10)
        for counter in counters:
            counter.engine.dispose()
    try:
        present = payments_by_key(admin)
        ledger = ledger_problems(admin)
    finally:
        admin.dispose()
    acked = {key: txn for c in counters for key, txn in c.acked.items()}
    lost = [key for key, txn in acked.items() if txn not in present.get(key, [])]
    doubled = [key for key, ids in present.items() if len(ids) > 1]
    asked = {key for c in counters for key in c.tries}
    unasked = [key for key in present if key not in asked and key not in acked]
    problems += [p for c in counters for p in c.problems]
    return Outcome(kills=len(failovers), failover_seconds=failovers, rejoin_seconds=rejoins, payments=len(acked),
                   retried=sum(1 for c in counters for tries in c.tries.values() if tries > 1), lost=lost,
                   doubled=doubled, unasked=unasked, ledger=ledger, problems=problems, leaders=leaders)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="kills of the primary in a row (default 10)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR.with_name("astrofin-failover"),
                        help="the cluster's folder, removed at the end")
    parser.add_argument("--no-fsync", action="store_true", help="the cluster's nodes with fsync off")
    parser.add_argument("--haproxy", action="store_true",
                        help="the counters connect through HAProxy (one address) instead of the multi-host string")
    args = parser.parse_args(argv)
    root = args.dir.resolve()
    try:
        started = time.monotonic()
        cluster = up(root, fsync=not args.no_fsync, haproxy=args.haproxy)
        print(f"cluster up in {time.monotonic() - started:.1f} s (Patroni {_patroni_version()}, "
              f"synchronous_mode on, ttl 20 s, loop_wait 1 s, retry_timeout 4 s, primary_start_timeout 0, "
              f"fsync {'off' if args.no_fsync else 'on'})", file=sys.stderr)
        try:
            outcome = campaign(cluster, args.kills, through_haproxy=args.haproxy)
        finally:
            down(root)
    except ClusterError as exc:
        print(f"bench.failover: {exc}", file=sys.stderr)
        return 1
    route = ("through HAProxy (Patroni's /primary check every 500 ms)" if args.haproxy
             else "over the multi-host string (target_session_attrs=read-write)")
    print(f"{CLIENTS} counters paying through PaymentRepository {route}; the primary's postmaster SIGKILLed "
          f"{args.kills} times")
    print(outcome.report())
    return 0 if outcome.ok and outcome.kills == args.kills else 1


def _patroni_version() -> str:
    from patroni.version import __version__

    return str(__version__)


if __name__ == "__main__":
    raise SystemExit(main())
