"""Payments through PgBouncer in transaction pooling beside the same payments on direct connections.

    uv run python -m bench.pooler [--clients 16] [--pool-size 4 --pool-size 16] [--seconds 10] [--rounds 3]
                                  [--mix-scale 8]

It starts its own embedded server (bench/__main__.py's tuning) with a synthetic book (db/scale_seed.py), and PgBouncer
(bench/pgbouncer.py: the Debian package, installed when missing) in front of it with `pool_mode = transaction`.
The same client threads, each a terminal with an engine of its own as the app makes it (db/engine.py: make_engine),
record payments through PaymentRepository.record (one message: settings, record_loan_payment, the receipt) for
`--seconds`, alternately straight to the server's socket, through each pooler's Unix socket (one PgBouncer for each
`--pool-size`) and through the first one's TCP port, `--rounds` times each; the table gives the medians. Then the
interleaved staff test (tests/pooler/test_interleaved.py) runs `--mix-scale` times longer than in the suite (0 skips
it) and its result line is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from bench.pgbouncer import pgbouncer
from db.engine import Actor, make_engine

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "astrofin_pool"


@dataclass
class Run:
    payments: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.payments / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def pay_for(url: URL, cashier: Actor, loans: list[int], clients: int, seconds: float) -> Run:
    """`clients` terminals paying random loans for `seconds`; every payment counted and timed."""
    from db.repositories.payments import PaymentRepository

    engines = [make_engine(url, pool_size=1) for _ in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start, stop = threading.Barrier(clients + 1), threading.Event()

    def terminal(n: int) -> None:
        rng = random.Random(n)
        repo = PaymentRepository(engines[n], cashier)
        repo.record(rng.choice(loans), Decimal("1.00"), date.today(), f"warm-{uuid.uuid4()}")  # connects
        start.wait()
        while not stop.is_set():
            began = time.perf_counter()
            try:
                repo.record(rng.choice(loans), Decimal("1.00"), date.today(), f"pool-{uuid.uuid4()}")
            except Exception as exc:  # noqa: BLE001 - reported, never hidden
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies[n].append(time.perf_counter() - began)

    threads = [threading.Thread(target=terminal, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for engine in engines:
        engine.dispose()
    if failures:
        print(f"  {len(failures)} payments failed, the first: {failures[0]}", file=sys.stderr)
    every = [t for per in latencies for t in per]
    return Run(len(every), elapsed, every)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pooler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="terminals paying at once (default 16)")
    parser.add_argument("--pool-size", type=int, action="append",
                        help="PgBouncer's server connections, repeatable: one PgBouncer each (default 4 and 16)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each timed run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind, alternated (default 3)")
    parser.add_argument("--scale", type=int, default=20_000, help="customers in the book (default 20,000)")
    parser.add_argument("--mix-scale", type=int, default=8,
                        help="the interleaved staff test this many times longer than in the suite (0: skip it)")
    args = parser.parse_args(argv)
    args.pool_size = args.pool_size or [4, 16]

    from bench.__main__ import start_server
    from db import migrate
    from db.scale_seed import seed_scale
    from db.seed import seed_database

    folder = Path(tempfile.mkdtemp(prefix="astrofin-pooler-"))
    folder.chmod(0o755)
    server, admin_url = start_server(folder / "pgdata")
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {DATABASE}"))
            cores = os.cpu_count() or 0
            version = conn.execute(text("SHOW server_version")).scalar_one()
            durability = ", ".join(f"{name} = {conn.execute(text(f'SHOW {name}')).scalar_one()}"
                                   for name in ("fsync", "synchronous_commit", "commit_delay"))
        admin.dispose()
        url = admin_url.set(database=DATABASE)
        print(f"seeding {args.scale:,} customers…", file=sys.stderr, flush=True)
        migrate.upgrade(url)
        seed_database(url, demo=True, staff_only=True)
        seed_scale(url, args.scale, random_seed=1)
        owner = create_engine(url, poolclass=pool.NullPool)
        with owner.connect() as conn:
            row = conn.execute(text("SELECT id, username, role, full_name FROM users WHERE username = 'cashier'")).one()
            loans = list(conn.execute(text("SELECT id FROM loans WHERE status IN ('active', 'defaulted') "
                                           "AND principal_outstanding > 100 ORDER BY id")).scalars())
        owner.dispose()
        cashier = Actor(row.id, row.username, row.role, row.full_name)
        direct = url.set(username="astrofin_app")
        runs: dict[str, list[Run]] = {}
        with ExitStack() as stack:
            bouncers = [stack.enter_context(pgbouncer(server.socket_dir, server.port,  # type: ignore[attr-defined]
                                                      pool_size=size, max_client_conn=max(200, 2 * args.clients)))
                        for size in args.pool_size]
            targets = {f"direct, Unix socket ({args.clients} server connections)": direct}
            for size, bouncer in zip(args.pool_size, bouncers, strict=True):
                targets[f"PgBouncer's Unix socket, {size} server connections"] = bouncer.socket_url(DATABASE)
            targets[f"PgBouncer on 127.0.0.1 TCP, {args.pool_size[0]} server connections"] = bouncers[0].url(DATABASE)
            for n in range(args.rounds):
                for kind, target in targets.items():
                    run = pay_for(target, cashier, loans, args.clients, args.seconds)
                    runs.setdefault(kind, []).append(run)
                    print(f"  round {n + 1}, {kind}: {run.payments:,} payments, {run.rate:,.0f}/s, "
                          f"median {run.median_ms:.1f} ms", file=sys.stderr, flush=True)
            settings = {key: bouncers[0].settings[key] for key in ("pool_mode", "max_client_conn",
                                                                   "server_reset_query_always")}
            pooler_version = bouncers[0].version
        report(args, runs, cores, str(version), pooler_version, settings, len(loans), durability)
    finally:
        server.stop()  # type: ignore[attr-defined]
        shutil.rmtree(folder, ignore_errors=True)
    if args.mix_scale > 0:
        mix(args.mix_scale)
    return 0


def report(args: argparse.Namespace, runs: dict[str, list[Run]], cores: int, version: str, pooler: str,
           settings: dict[str, str], loans: int, durability: str) -> None:
    med = statistics.median
    print(f"\nPayments through {pooler} beside direct connections: {args.clients} terminals, PostgreSQL {version} "
          f"({durability}), {cores} cores, {args.scale:,} customers ({loans:,} payable loans), medians of "
          f"{args.rounds} runs of {args.seconds:g} s, alternated")
    print(f"PgBouncer: {', '.join(f'{k} = {v}' for k, v in settings.items())}")
    print("| | payments/s (each run) | median | × direct | payment's median latency |")
    print("|---|---|---:|---:|---:|")
    direct = med(r.rate for r in next(iter(runs.values())))
    for kind, each in runs.items():
        rate = med(r.rate for r in each)
        print(f"| {kind} | {', '.join(f'{r.rate:,.0f}' for r in each)} | **{rate:,.0f}** | {rate / direct:.2f} | "
              f"{med(r.median_ms for r in each):.1f} ms |")


def mix(scale: int) -> None:
    """The suite's interleaved staff test, `scale` times longer, with its result line."""
    print(f"\nThe interleaved staff test × {scale} (tests/pooler/test_interleaved.py)…", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as out:
        env = dict(os.environ, ASTROFIN_FAULT_SCALE=str(scale), ASTROFIN_FAULT_REPORT=out.name)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                               "tests/pooler/test_interleaved.py"], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - began
        lines = [json.loads(line) for line in out.read().splitlines() if line.strip()]
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
        print(f"the interleaved staff test FAILED (exit {done.returncode})")
        return
    for line in lines:
        print(f"{line['fault']}: {line['tries']:,} transactions in {seconds:.0f} s (with its setup); {line['result']}")


if __name__ == "__main__":
    raise SystemExit(main())
