"""A cashier's payment to a distant central server: the round trips it costs, timed across a delayed link.

    uv run python -m bench.wan_payment [--delay-ms 50] [--payments 20] [--seconds 15]   # as root

Two network namespaces joined by a veth pair, as bench/ssh_link.py makes them. PostgreSQL runs as usual; in the
server namespace a relay (bench/delay_relay.py) carries TCP to its Unix socket. The link's delay is `tc netem` on
the veth pair where the kernel has it, otherwise the relay holds every chunk for the delay in each direction. The
payments are timed from the client namespace through the repository, as the app makes them:

- one message (db/one_trip.py): the person's settings, record_loan_payment and the receipt's read, one round trip;
- as before: a unit of work for the payment, then one for the receipt (BEGIN, settings, call, COMMIT, twice).

The same payments made from the server's own namespace, straight to the socket, give the server's own time; the
link's cost is the difference, shown in round trips. Then pgbench, on the socket, runs TPC-B-like beside the payment
in both forms, for the ratio the main bench reports. Everything it starts is stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from bench.ssh_link import veth_pair

SERVER_NS, CLIENT_NS = "astrofin-dbs", "astrofin-dbc"
SERVER_VETH, CLIENT_VETH = "afdbs0", "afdbc0"
SERVER_IP, CLIENT_IP = "10.251.0.2", "10.251.0.1"
RELAY_PORT = 6432
ROOT = Path(__file__).resolve().parent.parent

# The app's payment before db/one_trip.py: a unit of work for the call, then one for the receipt.
UNITS_SCRIPT = """\\set n random(1, {loans})
BEGIN;
SELECT set_config('astrofin.user_id', '{cashier}', true), set_config('role', 'astrofin_cashier', true);
SELECT record_loan_payment(p.loan_id, 1.00, current_date, {cashier}, 'bench-' || pg_current_xact_id()::text)
  FROM bench_payable p WHERE p.n = :n;
END;
BEGIN;
SELECT set_config('astrofin.user_id', '{cashier}', true), set_config('role', 'astrofin_cashier', true);
SELECT t.receipt_number, t.amount FROM transactions t
 WHERE t.id = (SELECT max(id) FROM transactions WHERE created_by = {cashier});
END;
"""
# The same as one message: pgbench sends statements joined by \\; as one Query.
ONE_MESSAGE_SCRIPT = """\\set n random(1, {loans})
SELECT set_config('astrofin.user_id', '{cashier}', true), set_config('role', 'astrofin_cashier', true) \\;
SELECT set_config('astrofin.result', (SELECT record_loan_payment(p.loan_id, 1.00, current_date, {cashier},
  'bench-' || pg_current_xact_id()::text) FROM bench_payable p WHERE p.n = :n)::text, true) \\;
SELECT t.receipt_number, t.amount FROM transactions t
 WHERE t.id = CAST(current_setting('astrofin.result', true) AS bigint);
"""


def run(argv: list[str], *, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    full = ["ip", "netns", "exec", ns, *argv] if ns else argv
    return subprocess.run(full, check=check, capture_output=True, text=True, cwd=ROOT)


@dataclass
class DelayedLink:
    """The two namespaces, the veth pair, the delay, and the relay to the server's socket."""

    socket_dir: str
    port: int
    delay_ms: int
    shaping: str = ""
    relay: subprocess.Popen[str] | None = None

    def up(self) -> None:
        self.down()
        veth_pair((SERVER_NS, SERVER_VETH, SERVER_IP), (CLIENT_NS, CLIENT_VETH, CLIENT_IP))
        netem = all(run(["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", f"{self.delay_ms}ms"],
                        ns=ns, check=False).returncode == 0
                    for ns, dev in ((SERVER_NS, SERVER_VETH), (CLIENT_NS, CLIENT_VETH)))
        relay_delay = 0 if netem else self.delay_ms
        self.shaping = (f"tc netem, {self.delay_ms} ms each way" if netem else
                        f"a relay holding each chunk {self.delay_ms} ms each way (this kernel has no netem)")
        self.relay = subprocess.Popen(
            ["ip", "netns", "exec", SERVER_NS, sys.executable, "-m", "bench.delay_relay", SERVER_IP,
             str(RELAY_PORT), self.socket_dir, str(self.port), str(relay_delay)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.relay.stdout is not None
        self.relay.stdout.readline()

    def down(self) -> None:
        if self.relay is not None:
            self.relay.terminate()
            self.relay.wait(timeout=5)
            self.relay = None
        for ns in (SERVER_NS, CLIENT_NS):
            run(["ip", "netns", "del", ns], check=False)


def measure(url: URL, cashier: int, loans: list[int], count: int) -> dict[str, list[float]]:
    """Milliseconds per payment, each form in turn on one pooled connection: a trivial round trip (`SELECT 1` in
    autocommit), the payment as one message, the payment as two units of work."""
    from db.engine import Actor, make_engine, unit_of_work
    from db.repositories.payments import PaymentRepository, new_idempotency_key

    engine = make_engine(url, pool_size=1, max_overflow=0)
    actor = Actor(cashier, "cashier", "cashier")
    payments = PaymentRepository(engine, actor)
    day = date.today()
    times: dict[str, list[float]] = {"round trip": [], "one message": [], "units of work": []}

    def timed(name: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        call()
        times[name].append((time.perf_counter() - started) * 1000)

    def ping() -> None:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            driver.execute("SELECT 1")  # type: ignore[union-attr]
            driver.autocommit = False  # type: ignore[union-attr]

    def one_message(loan: int) -> None:
        payments.record(loan, Decimal("1.00"), day, new_idempotency_key(), method="bank", reference="WAN")

    def as_before(loan: int) -> None:
        with unit_of_work(engine, actor) as session:
            txn = session.execute(text("SELECT record_loan_payment(:l, 1.00, :d, :u, :k, 'bank', 'WAN')"),
                                  {"l": loan, "d": day, "u": cashier, "k": new_idempotency_key()}).scalar_one()
        payments.receipt(int(txn))

    ping()
    for i in range(count):
        loan = loans[i % len(loans)]
        timed("round trip", ping)
        timed("one message", functools.partial(one_message, loan))
        timed("units of work", functools.partial(as_before, loan))
    engine.dispose()
    return times


def _pgbench(server: Any, args: list[str], database: str) -> float:
    from bench.__main__ import pgbench, tps

    return tps(pgbench(server, args, database))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wan_payment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=int, default=50, help="one-way delay (default 50: a 100 ms round trip)")
    parser.add_argument("--payments", type=int, default=20, help="payments timed in each form (default 20)")
    parser.add_argument("--seconds", type=int, default=15, help="length of each pgbench run (default 15)")
    parser.add_argument("--scale", type=int, default=20_000, help="customers in the book (default 20,000)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # JSON arguments: the run inside the client namespace
    args = parser.parse_args(argv)
    if args.measure:
        spec = json.loads(args.measure)
        url = URL.create("postgresql+psycopg", username="astrofin_app", database=spec["database"],
                         host=spec["host"], port=spec["port"])
        print(json.dumps(measure(url, spec["cashier"], spec["loans"], spec["count"])))
        return 0

    from bench.__main__ import start_server
    from db import migrate
    from db.scale_seed import seed_scale
    from db.seed import seed_database

    folder = Path(tempfile.mkdtemp(prefix="astrofin-wan-"))
    server, admin_url = start_server(folder / "pgdata")
    link = DelayedLink(server.socket_dir, server.port, args.delay_ms)  # type: ignore[attr-defined]
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE astrofin_wan"))
            conn.execute(text("CREATE DATABASE pgbench_tpcb"))
        url = admin_url.set(database="astrofin_wan")
        migrate.upgrade(url)
        seed_database(url, demo=True, staff_only=True)
        seed_scale(url, args.scale, random_seed=1)
        owner = create_engine(url, poolclass=pool.NullPool)
        with owner.begin() as conn:
            cashier = conn.execute(text("SELECT id FROM users WHERE username = 'cashier'")).scalar_one()
            conn.execute(text("CREATE TABLE bench_payable AS SELECT row_number() OVER (ORDER BY id) AS n, "
                              "id AS loan_id FROM loans WHERE status IN ('active', 'defaulted') "
                              "AND principal_outstanding > 100"))
            conn.execute(text("CREATE UNIQUE INDEX ON bench_payable (n)"))
            conn.execute(text("GRANT SELECT ON bench_payable TO astrofin_cashier"))
            payable = conn.execute(text("SELECT count(*) FROM bench_payable")).scalar_one()
            loans = list(conn.execute(text("SELECT loan_id FROM bench_payable ORDER BY n LIMIT :k"),
                                      {"k": 3 * args.payments}).scalars())
        owner.dispose()
        admin.dispose()

        local = measure(admin_url.set(username="astrofin_app", database="astrofin_wan"), cashier, loans[::3],
                        args.payments)
        link.up()
        spec = {"database": "astrofin_wan", "host": SERVER_IP, "port": RELAY_PORT, "cashier": cashier,
                "loans": loans[1::3], "count": args.payments}
        inside = run([sys.executable, "-m", "bench.wan_payment", "--measure", json.dumps(spec)], ns=CLIENT_NS)
        far: dict[str, list[float]] = json.loads(inside.stdout.strip().splitlines()[-1])
        link.down()

        rates: dict[str, list[float]] = {"TPC-B-like": [], "payment, units of work": [], "payment, one message": []}
        _pgbench(server, ["-i", "-q", "-s", "20"], "pgbench_tpcb")
        common = ["-c", "8", "-j", "2", "-T", str(args.seconds), "-n"]
        for _ in range(2):
            rates["TPC-B-like"].append(_pgbench(server, common, "pgbench_tpcb"))
            for name, script in (("payment, units of work", UNITS_SCRIPT),
                                 ("payment, one message", ONE_MESSAGE_SCRIPT)):
                path = folder / "script.sql"
                path.write_text(script.format(loans=payable, cashier=cashier))
                path.chmod(0o644)
                rates[name].append(_pgbench(server, [*common, "-f", str(path)], "astrofin_wan"))
        report(args, link.shaping, local, far, rates)
    finally:
        link.down()
        server.stop()  # type: ignore[attr-defined]
    return 0


def report(args: argparse.Namespace, shaping: str, local: dict[str, list[float]], far: dict[str, list[float]],
           rates: dict[str, list[float]]) -> None:
    med = statistics.median
    rtt = med(far["round trip"]) - med(local["round trip"])
    print(f"\nA payment across a {2 * args.delay_ms} ms round trip ({shaping}); medians of {args.payments}, "
          f"{args.scale:,} customers")
    print("| | on the server's socket | across the link | the link's cost | in round trips |")
    print("|---|---:|---:|---:|---:|")
    for name in ("round trip", "one message", "units of work"):
        near, away = med(local[name]), med(far[name])
        print(f"| {name} | {near:.1f} ms | {away:.1f} ms | {away - near:.1f} ms | {(away - near) / rtt:.1f} |")
    tpcb = med(rates["TPC-B-like"])
    print(f"\npgbench, 8 clients, {args.seconds} s runs, medians of 2, on the socket:")
    for name, values in rates.items():
        ratio = "" if name == "TPC-B-like" else f" = {med(values) / tpcb:.2f} × TPC-B-like"
        print(f"- {name}: {med(values):,.0f} tps{ratio}")


if __name__ == "__main__":
    raise SystemExit(main())
