"""A cashier's payment to a distant central server: the round trips it costs, timed across a delayed link.

    uv run python -m bench.wan_payment [--delay-ms 50] [--payments 20] [--seconds 15]   # as root

Two network namespaces joined by a veth pair, as bench/ssh_link.py makes them. PostgreSQL runs as usual; in the
server namespace a relay (bench/delay_relay.py) carries TCP to its Unix socket. The link's delay is `tc netem` on
the veth pair where the kernel has it, otherwise the relay holds every chunk for the delay in each direction. The
payments are timed from the client namespace through the repository, as the app makes them:

- one message (db/one_trip.py): the person's settings, record_loan_payment and the receipt's read, one round trip;
- as before: a unit of work for the payment, then one for the receipt (BEGIN, settings, call, COMMIT, twice).

The other saves of the counter are timed the same way, each as the app sends it now (one message: the write and the
reads of what it wrote) and as it sent them before (the repository's unit of work, then one for the reads): a new
customer (loan officer), a loan application for that customer, and a center's collection sheet posted with its receipt
(cashier, one line a member loan, 1.00 each, for the center's latest meeting day).

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
import uuid
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


def measure(url: URL, spec: dict[str, Any]) -> dict[str, list[float]]:
    """Milliseconds per save, each form in turn on one pooled connection: a trivial round trip (`SELECT 1` in
    autocommit), then for the payment, a customer, a loan application and a collection sheet the save as one message
    (the repository now) and as the units of work it was before."""
    from db.engine import Actor, make_engine, unit_of_work
    from db.repositories.customers import CustomerRepository
    from db.repositories.groups import CollectionSheetRepository, SheetEntry
    from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
    from db.repositories.payments import PaymentRepository, new_idempotency_key
    from db.validation import CustomerInput

    engine = make_engine(url, pool_size=1, max_overflow=0)
    cashier = spec["cashier"]
    actor = Actor(cashier, "cashier", "cashier")
    officer = Actor(spec["officer"], "officer", "loan_officer")
    payments = PaymentRepository(engine, actor)
    customers = CustomerRepository(engine, officer)
    loans = LoanRepository(engine, officer)
    sheets = CollectionSheetRepository(engine, actor)
    terms = LoanTerms(Decimal("10000.00"), Decimal("24.00"), "flat", 12, "monthly")
    day = date.today()
    times: dict[str, list[float]] = {name: [] for name in FORMS}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = call()
        times[name].append((time.perf_counter() - started) * 1000)
        return result

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

    def person() -> CustomerInput:
        key = new_idempotency_key()
        return CustomerInput(first_name="Wan", last_name=f"Bench{key[:8]}", national_id=f"WAN{key[:12]}",
                             phone="+254712345678")

    def apply(customer_id: int) -> None:
        loans.apply(LoanApplication(customer_id, terms), today=day, idempotency_key=new_idempotency_key())

    def post(sheet: dict[str, Any]) -> None:
        sheets.post_with_receipt(sheet["group"], date.fromisoformat(sheet["date"]),
                                 [SheetEntry(loan, Decimal(amount), True) for loan, amount in sheet["lines"]],
                                 new_idempotency_key())

    ping()
    for i, loan in enumerate(spec["loans"][:spec["count"]]):
        timed("round trip", ping)
        timed("one message", functools.partial(one_message, loan))
        timed("units of work", functools.partial(as_before, loan))
        made = timed("customer, one message",
                     lambda: customers.create(person(), today=day, idempotency_key=new_idempotency_key()))
        before = timed("customer, units of work", lambda: _customer_as_before(engine, officer, person()))
        timed("application, one message", functools.partial(apply, made.id))
        timed("application, units of work",
              functools.partial(_application_as_before, engine, officer, before, terms, day))
        if 2 * i + 1 < len(spec["sheets"]):
            timed("sheet, one message", functools.partial(post, spec["sheets"][2 * i]))
            timed("sheet, units of work", functools.partial(_sheet_as_before, engine, actor, spec["sheets"][2 * i + 1]))
    engine.dispose()
    return times


FORMS = ("round trip", "one message", "units of work", "customer, one message", "customer, units of work",
         "application, one message", "application, units of work", "sheet, one message", "sheet, units of work")

BEFORE_SHEET_HEAD = """
    SELECT s.id, g.group_number, g.name, s.meeting_date, b.code AS branch_code, s.posted_at, s.total,
           pu.full_name AS posted_by_name, coalesce(cu.full_name, '') AS officer_name
    FROM collection_sheets s
    JOIN groups g ON g.id = s.group_id
    JOIN branches b ON b.id = s.branch_id
    JOIN users pu ON pu.id = s.posted_by
    LEFT JOIN users cu ON cu.id = s.collected_by
    WHERE s.id = :s
"""
BEFORE_SHEET_LINES = """
    SELECT g.group_number, g.name AS group_name, c.customer_number, c.first_name || ' ' || c.last_name AS customer_name,
           lo.loan_number, l.amount, l.attended, t.receipt_number,
           EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = l.transaction_id) AS reversed
    FROM collection_sheet_lines l
    JOIN groups g ON g.id = l.group_id
    JOIN customers c ON c.id = l.customer_id
    JOIN loans lo ON lo.id = l.loan_id
    LEFT JOIN transactions t ON t.id = l.transaction_id
    WHERE l.sheet_id = :s
    ORDER BY g.group_number, c.last_name, c.first_name, lo.loan_number
"""


def _customer_as_before(engine: Any, officer: Any, data: Any) -> int:
    """A new customer as CustomerRepository.create sent it before: a unit of work (the form's key looked up, the
    national ID checked, the insert under a savepoint), then one reading the customer and their loans."""
    from sqlalchemy import select

    from db.engine import unit_of_work
    from db.models import Customer
    from db.repositories.idempotency import existing_by_key, insert_once

    key = uuid.uuid4().hex
    with unit_of_work(engine, officer) as session:
        existing_by_key(session, Customer, key, officer.user_id, "first_name")
        session.scalar(select(Customer.customer_number).where(Customer.national_id == data.national_id,
                                                              Customer.id != 0))
        new_id = insert_once(session, Customer(**data.__dict__, created_by=officer.user_id, idempotency_key=key),
                             key, officer.user_id, "first_name")
    _customer_read_before(engine, officer, new_id)
    return new_id


def _customer_read_before(engine: Any, officer: Any, customer_id: int) -> None:
    from sqlalchemy import select

    from db.engine import unit_of_work
    from db.models import Customer, Loan

    with unit_of_work(engine, officer) as session:
        session.get(Customer, customer_id)
        session.scalars(select(Loan).where(Loan.customer_id == customer_id)
                        .order_by(Loan.application_date.desc(), Loan.id)).all()


def _application_as_before(engine: Any, officer: Any, customer_id: int, terms: Any, day: date) -> None:
    """A loan application as LoanRepository.apply sent it before: a unit of work (the key, the customer, the
    schedule's rules, the insert under a savepoint), then one reading the loan, customer, officer, schedule and
    transactions."""
    from sqlalchemy import select

    from db.engine import unit_of_work
    from db.models import Customer, Loan, PaymentSchedule, Transaction, User
    from db.repositories.idempotency import existing_by_key, insert_once

    key = uuid.uuid4().hex
    with unit_of_work(engine, officer) as session:
        existing_by_key(session, Loan, key, officer.user_id, "principal")
        session.get(Customer, customer_id)
        session.execute(text("SELECT count(*) FROM preview_payment_schedule(:p, :r, :m, :n, :f, :d)"),
                        {"p": terms.principal, "r": terms.interest_rate, "m": terms.interest_method, "n": terms.term,
                         "f": terms.repayment_frequency, "d": None}).all()
        loan = Loan(customer_id=customer_id, principal_amount=terms.principal, interest_rate=terms.interest_rate,
                    interest_method=terms.interest_method, term=terms.term,
                    repayment_frequency=terms.repayment_frequency, application_date=day,
                    loan_officer_id=officer.user_id, created_by=officer.user_id, idempotency_key=key)
        loan_id = insert_once(session, loan, key, officer.user_id, "principal")
    with unit_of_work(engine, officer) as session:
        session.get(Loan, loan_id)
        session.get(Customer, customer_id)
        session.scalar(select(User.full_name).where(User.id == officer.user_id))
        session.scalars(select(PaymentSchedule).where(PaymentSchedule.loan_id == loan_id)).all()
        session.execute(select(Transaction).where(Transaction.loan_id == loan_id)).all()


def _sheet_as_before(engine: Any, actor: Any, sheet: dict[str, Any]) -> None:
    """A sheet as the screen posted it before: a unit of work calling post_collection_sheet, then the receipt read in
    a unit of work of its own (head and lines)."""
    from db.engine import unit_of_work

    lines = json.dumps([{"loan_id": loan, "amount": amount, "attended": True} for loan, amount in sheet["lines"]])
    with unit_of_work(engine, actor) as session:
        sheet_id = session.execute(text("SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, :k)"),
                                   {"g": sheet["group"], "d": date.fromisoformat(sheet["date"]), "l": lines,
                                    "me": actor.user_id, "k": uuid.uuid4().hex}).scalar_one()
    with unit_of_work(engine, actor) as session:
        session.execute(text(BEFORE_SHEET_HEAD), {"s": sheet_id}).one()
        session.execute(text(BEFORE_SHEET_LINES), {"s": sheet_id}).all()


def _sheets(conn: Any, count: int) -> list[dict[str, Any]]:
    """Up to `count` sheets to post: centers and lone groups (a group's sheet would hold loans of its center's) at their
    latest meeting day up to today, with their member loans."""
    rows = conn.execute(text("""
        SELECT g.id, d.day, array_agg(s.loan_id ORDER BY s.loan_id) AS loans,
               array_agg(CASE WHEN s.max_payable >= 1 THEN '1.00' ELSE '0' END ORDER BY s.loan_id) AS amounts
        FROM groups g
        CROSS JOIN LATERAL (SELECT max(m) AS day FROM group_meeting_dates(g.id, current_date - 14, current_date) m) d
        CROSS JOIN LATERAL collection_sheet(g.id, d.day) s
        WHERE g.parent_id IS NULL AND g.status = 'active' AND d.day IS NOT NULL
        GROUP BY g.id, d.day
        ORDER BY g.id
        LIMIT :n
    """), {"n": count}).all()
    return [{"group": row.id, "date": row.day.isoformat(), "lines": list(zip(row.loans, row.amounts, strict=True))}
            for row in rows]


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
        print(json.dumps(measure(url, spec)))
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
            officer = conn.execute(text("SELECT id FROM users WHERE username = 'officer'")).scalar_one()
            conn.execute(text("CREATE TABLE bench_payable AS SELECT row_number() OVER (ORDER BY id) AS n, "
                              "id AS loan_id FROM loans WHERE status IN ('active', 'defaulted') "
                              "AND principal_outstanding > 100"))
            conn.execute(text("CREATE UNIQUE INDEX ON bench_payable (n)"))
            conn.execute(text("GRANT SELECT ON bench_payable TO astrofin_cashier"))
            payable = conn.execute(text("SELECT count(*) FROM bench_payable")).scalar_one()
            loans = list(conn.execute(text("SELECT loan_id FROM bench_payable ORDER BY n LIMIT :k"),
                                      {"k": 3 * args.payments}).scalars())
            sheets = _sheets(conn, 4 * args.payments)
        owner.dispose()
        admin.dispose()

        near = {"cashier": cashier, "officer": officer, "loans": loans[::3], "count": args.payments,
                "sheets": sheets[::2]}
        local = measure(admin_url.set(username="astrofin_app", database="astrofin_wan"), near)
        link.up()
        spec = {"database": "astrofin_wan", "host": SERVER_IP, "port": RELAY_PORT, "cashier": cashier,
                "officer": officer, "loans": loans[1::3], "count": args.payments, "sheets": sheets[1::2]}
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
    print(f"\nThe counter's saves across a {2 * args.delay_ms} ms round trip ({shaping}); medians of "
          f"{args.payments} (sheets: {len(far['sheet, one message'])}), {args.scale:,} customers")
    print("| | on the server's socket | across the link | the link's cost | in round trips |")
    print("|---|---:|---:|---:|---:|")
    for name in FORMS:
        if not local[name] or not far[name]:
            print(f"| {name} | no sheet to post | | | |")
            continue
        near, away = med(local[name]), med(far[name])
        print(f"| {name} | {near:.1f} ms | {away:.1f} ms | {away - near:.1f} ms | {(away - near) / rtt:.1f} |")
    tpcb = med(rates["TPC-B-like"])
    print(f"\npgbench, 8 clients, {args.seconds} s runs, medians of 2, on the socket:")
    for name, values in rates.items():
        ratio = "" if name == "TPC-B-like" else f" = {med(values) / tpcb:.2f} × TPC-B-like"
        print(f"- {name}: {med(values):,.0f} tps{ratio}")


if __name__ == "__main__":
    raise SystemExit(main())
