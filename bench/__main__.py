"""The benchmark suite: `uv run python -m bench --scale 100000` prints one table for one run.

It starts its own embedded server in a data folder of its own (never the application's), tunes it for the
machine, seeds a synthetic book of N customers (db/scale_seed.py), then measures on the same server:
payments through record_loan_payment under pgbench beside pgbench's own TPC-B-like run (with the branch
tables' row-level security switched off and on again, in the same run), the same payments in a branch that
requires tills (each client a cashier of its own with an open till) alternated with the same run without tills,
the close of a till holding 500 cash payments, a center's collection sheet of about 40 member loans loaded and
posted, a reschedule's preview and its approval on the book's longest loans, customer search and the overdue queue
as head-office staff and as the staff of one branch, PAR of one branch and of head office, the monthly summary
refresh, perform_database_maintenance(), and the resident memory of a process running the application's search.
`--explain` also prints EXPLAIN ANALYZE of the hot queries.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL

TUNING = {
    "shared_buffers": "4GB", "max_wal_size": "16GB", "checkpoint_timeout": "30min", "work_mem": "32MB",
    "maintenance_work_mem": "3GB", "effective_cache_size": "16GB", "wal_buffers": "64MB",
    "random_page_cost": "1.1", "max_connections": "100",
    # A bulk load into tables emptied in its own transaction then skips the WAL (PostgreSQL's "Populating a
    # Database"); the benchmark's server has no replica to feed.
    "wal_level": "minimal", "max_wal_senders": "0", "max_parallel_maintenance_workers": "2",
}
PAYMENT_SCRIPT = """\\set n random(1, {loans})
BEGIN;
SELECT set_config('astrofin.user_id', '{cashier}', true), set_config('role', 'astrofin_cashier', true);
SELECT record_loan_payment(p.loan_id, 1.00, current_date, {cashier}, 'bench-' || pg_current_xact_id()::text)
  FROM bench_payable p WHERE p.n = :n;
END;
"""
# Each pgbench client (:client_id, from 0) is a cashier of its own, paying loans of the cashiers' branch.
TILL_PAYMENT_SCRIPT = """\\set n random(1, {loans})
BEGIN;
SELECT set_config('astrofin.user_id', c.user_id::text, true), set_config('role', 'astrofin_cashier', true)
  FROM bench_cashiers c WHERE c.n = :client_id;
SELECT record_loan_payment(p.loan_id, 1.00, current_date, c.user_id, 'bench-' || pg_current_xact_id()::text)
  FROM bench_branch_payable p, bench_cashiers c WHERE p.n = :n AND c.n = :client_id;
END;
"""
CLOSE_PAYMENTS = 500
CLOSE_SAMPLES = 7


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _timed(call: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((name, value, target, "" if ok is None else ("yes" if ok else "MISSED")))
        print(f"  {name}: {value}", file=sys.stderr, flush=True)

    def table(self) -> str:
        head = ("measure", "result", "target (at 1,000,000)", "met")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
        out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(out)


def start_server(data: Path) -> tuple[object, URL]:
    from db import embedded

    server = embedded.start(data, cleanup_mode="stop")
    admin = _url(server.socket_dir, server.port, "postgres")
    eng = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    with eng.connect() as conn:
        # Every run applies TUNING (a data folder kept from an older run gets today's values); a restart
        # only when the configuration files hold a value that cannot apply without one (pg_file_settings
        # reads the files now, with no wait for a reload to reach the backends).
        for name, value in TUNING.items():  # fixed names and values above
            conn.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
        conn.execute(text("SELECT pg_reload_conf()"))
        if conn.execute(text("SELECT count(*) FROM pg_file_settings WHERE NOT applied")).scalar_one():
            eng.dispose()
            server.stop()
            server = embedded.start(data, cleanup_mode="stop")
    eng.dispose()
    return server, admin


def _url(socket_dir: str, port: int, database: str) -> URL:
    return URL.create("postgresql+psycopg", username="postgres", database=database,
                      query={"host": socket_dir, "port": str(port)})


def pgbench(server: object, args: list[str], env_db: str) -> str:
    from db import embedded

    env = dict(os.environ, PGHOST=server.socket_dir, PGPORT=str(server.port), PGUSER="postgres",  # type: ignore[attr-defined]
               PGDATABASE=env_db)
    done = subprocess.run([str(embedded.bin_dir() / "pgbench"), *args], env=env, capture_output=True, text=True,
                          check=False, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"pgbench {' '.join(args)} failed:\n{done.stdout}{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def tps(output: str) -> float:
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    return float(found.group(1)) if found else 0.0


ONLY = ("penalties", "payments", "payoff", "sheet", "search", "reports", "reschedules", "mpesa", "callbacks",
        "import")
"""What --only may pick; the app's memory and --explain run only without it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", type=int, default=100_000, help="customers (default 100,000)")
    parser.add_argument("--random-seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "astrofin-bench" / "pgdata")
    parser.add_argument("--seconds", type=int, default=20, help="length of each pgbench run (default 20)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=200, help="calls per search kind (default 200)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the hot queries")
    parser.add_argument("--only", action="append", choices=ONLY,
                        help="seed, measure only this (repeatable) and stop: penalties (the daily runs), payments (the "
                             "pgbench runs beside TPC-B, the till runs and the till close), payoff "
                             "(payoff_quote), sheet (a center's collection sheet), search and reports (PAR, the "
                             "overdue queue, the monthly summary; head office and a branch), reschedules, mpesa "
                             "(a statement of 100,000 rows imported and posted), callbacks (Daraja confirmations "
                             "to astrofin mpesa serve, 50 at a time), import "
                             "(100,000 customers from a CSV template)")
    args = parser.parse_args(argv)

    from db import migrate
    from db.engine import Actor, make_engine
    from db.scale_seed import seed_scale
    from db.seed import seed_database

    bench = Bench(args)
    today = date.today()
    server, admin_url = start_server(args.data_dir)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS astrofin_bench WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE astrofin_bench"))
        conn.execute(text("DROP DATABASE IF EXISTS pgbench_tpcb WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE pgbench_tpcb"))
    url = admin_url.set(database="astrofin_bench")
    migrate.upgrade(url)
    seed_database(url, demo=True, staff_only=True)
    print(f"Seeding {args.scale:,} customers …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    report = seed_scale(url, args.scale, random_seed=args.random_seed, today=today)
    seconds = time.perf_counter() - started
    steps = sorted(report.timings.items(), key=lambda step: -step[1])
    print("  seed steps: " + ", ".join(f"{name} {spent:.1f} s" for name, spent in steps), file=sys.stderr, flush=True)
    bench.add("seed --scale", f"{seconds:.1f} s ({report.loans:,} loans, "
              f"{report.rows['payment_schedules']:,} installments, {report.rows['journal_entry_details']:,} "
              f"journal lines; PAR30 {report.par30} %)", "≤ 180 s", seconds <= 180 * args.scale / 1_000_000)

    engine = make_engine(url)
    branch = branch_staff(engine)
    with engine.connect() as conn:
        def user(name: str) -> Actor:
            row = conn.execute(text("SELECT id, username, role FROM users WHERE username = :u"), {"u": name}).one()
            return Actor(row.id, row.username, row.role)
        officer, cashier, supervisor = user("officer"), user("cashier"), user("supervisor")
        branch_officer, branch_supervisor = user("bench.officer"), user("bench.supervisor")
    chosen = set(args.only or ONLY)
    if "penalties" in chosen:
        run_penalties(bench, engine, args.scale)
    if "payments" in chosen:
        run_payments(bench, server, engine, cashier.user_id)
        run_till_payments(bench, server, engine, branch[0])
        run_till_close(bench, engine, branch[0])
    if "payoff" in chosen:
        run_payoff_quote(bench, engine, cashier, args.runs)
    if "sheet" in chosen:
        run_collection_sheet(bench, engine, today)
    if "search" in chosen:
        run_search(bench, engine, officer, args.runs, "head office")
        run_search(bench, engine, branch_officer, args.runs, f"branch {branch[1]}", branch[0])
    if "reports" in chosen:
        run_reports(bench, engine, supervisor, today, args.runs, "head office")
        run_reports(bench, engine, branch_supervisor, today, args.runs, f"branch {branch[1]}", branch[0])
    if "reschedules" in chosen:
        run_reschedules(bench, engine, officer, supervisor, today, args.runs)
    if "mpesa" in chosen:
        from bench.mpesa import run_mpesa
        from db.seed import DEMO_SERVICE_USERS, SeedReport, seed_demo_users

        with engine.begin() as conn:
            seed_demo_users(conn, SeedReport(), DEMO_SERVICE_USERS)  # the demo's M-Pesa service user
            row = conn.execute(text("SELECT id, username, role, branch_id FROM users WHERE username = 'mpesa'")).one()
        run_mpesa(bench, engine, Actor(row.id, row.username, row.role, branch_id=row.branch_id))
    if "callbacks" in chosen:
        from bench.callbacks import run_callbacks

        run_callbacks(bench, url, engine)
    if "import" in chosen:
        run_import(bench, engine, branch[1])
    if args.only is None:
        run_app_memory(bench, url)
        if args.explain:
            explain(engine, {"a head-office officer": officer, f"an officer of {branch[1]}": branch_officer,
                             "a head-office supervisor": supervisor,
                             f"a supervisor of {branch[1]}": branch_supervisor}, today)
    print()
    print(f"AstroFinance benchmark: {args.scale:,} customers; {machine()}")
    print(bench.table())
    engine.dispose()
    admin.dispose()
    server.stop()  # type: ignore[attr-defined]
    return 0


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, {system}, PostgreSQL 18"


def branch_staff(engine: Engine) -> tuple[int, str]:
    """An officer and a supervisor (bench.officer, bench.supervisor) in the first branch under the head office."""
    with engine.begin() as conn:
        branch, code = conn.execute(text("SELECT id, code FROM branches WHERE parent_id IS NOT NULL "
                                         "ORDER BY id LIMIT 1")).one()
        for role in ("loan_officer", "supervisor"):
            name = "bench.officer" if role == "loan_officer" else "bench.supervisor"
            conn.execute(text(
                "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                "VALUES (:u, '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2g', :u, :r, :b) ON CONFLICT DO NOTHING"),
                {"u": name, "r": role, "b": branch})
    return int(branch), str(code)


RLS_TABLES = ("branches", "users", "customers", "loans", "payment_schedules", "transactions", "journal_entries",
              "journal_entry_details", "sms_histories", "audit_logs", "customer_transfers")


def _alternated(bench: Bench, run: Callable[[str], float], switch: Callable[[bool], None], what: str) -> None:
    """Payments / TPC-B-like with `what` off and on, alternated twice; the cost of `what` as the medians' drop."""
    ratios: dict[bool, list[float]] = {False: [], True: []}
    for on in (False, True, False, True):
        switch(on)
        ratios[on].append(run(f"{'with' if on else 'without'} {what}"))
    switch(True)
    before, after = statistics.median(ratios[False]), statistics.median(ratios[True])
    drop = 1 - after / before if before else 1.0
    bench.add(f"payments / TPC-B: the cost of {what}",
              f"{after:.2f} against {before:.2f} (medians of 2): {drop * 100:.1f} % lower", "≤ 10 % lower",
              drop <= 0.10)


def run_payments(bench: Bench, server: object, engine: Engine, cashier: int) -> None:
    args = bench.args
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_payable"))
        conn.execute(text("CREATE TABLE bench_payable AS SELECT row_number() OVER (ORDER BY id) AS n, id AS loan_id "
                          "FROM loans WHERE status IN ('active', 'defaulted') AND principal_outstanding > 100"))
        conn.execute(text("CREATE UNIQUE INDEX ON bench_payable (n)"))
        conn.execute(text("GRANT SELECT ON bench_payable TO astrofin_cashier"))
        loans = conn.execute(text("SELECT count(*) FROM bench_payable")).scalar_one()
    script = Path(tempfile.mkstemp(suffix=".sql")[1])
    script.write_text(PAYMENT_SCRIPT.format(loans=loans, cashier=cashier))
    script.chmod(0o644)
    pgbench(server, ["-i", "-q", "-s", "20"], "pgbench_tpcb")
    common = ["-c", str(args.clients), "-j", "2", "-T", str(args.seconds), "-n"]

    def run(label: str) -> float:
        tpcb = tps(pgbench(server, common, "pgbench_tpcb"))
        payments = tps(pgbench(server, [*common, "-f", str(script)], "astrofin_bench"))
        ratio = payments / tpcb if tpcb else 0.0
        bench.add(f"record_loan_payment via pgbench (8 clients), {label}",
                  f"{payments:,.0f} tps beside TPC-B-like (scale 20) {tpcb:,.0f} tps = {ratio:.2f} × TPC-B", "", None)
        return ratio

    # Row-level security off (as before branches) and on, alternated, each beside its own TPC-B run: the ratio
    # with it must stay within 10 % of the ratio without it.
    def secure(on: bool) -> None:
        with engine.begin() as conn:
            for table in RLS_TABLES:  # fixed names
                conn.execute(text(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} ROW LEVEL SECURITY"))

    _alternated(bench, run, secure, "row-level security")

    # PAR's running totals (0026): the loans' trigger that appends each payment's change, off (as before 0026)
    # and on, alternated the same way, with row-level security on.
    def track(on: bool) -> None:
        with engine.begin() as conn:
            for trigger in ("loans_track_arrears", "loans_track_arrears_update"):  # fixed names
                conn.execute(text(f"ALTER TABLE loans {'ENABLE' if on else 'DISABLE'} TRIGGER {trigger}"))

    _alternated(bench, run, track, "PAR's running totals")
    with engine.begin() as conn:
        conn.execute(text("SELECT loan_arrears_rebuild()"))  # what the runs without the trigger did not append
    script.unlink()


def run_import(bench: Bench, engine: Engine, branch_code: str, rows: int = 100_000) -> None:
    """`astrofin import customers` of a file of 100,000 customers made on the fly, by the head office's admin."""
    import csv

    from db.engine import Actor
    from db.imports.book import TEMPLATES, import_book

    with engine.connect() as conn:
        admin = conn.execute(text("SELECT id, username, role FROM users WHERE username = 'admin'")).one()
    actor = Actor(admin.id, admin.username, admin.role)
    folder = Path(tempfile.mkdtemp(prefix="astrofin-import-"))
    path = folder / "customers.csv"
    rng = random.Random(7)
    firsts = ("Amina", "Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Mutua", "Chebet", "Kiptoo", "Atieno")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in TEMPLATES["customers"]])
        for n in range(rows):
            phone = f"07{rng.randint(10_000_000, 99_999_999)}"
            writer.writerow([f"IMP{n:08d}", rng.choice(firsts), f"Imported{n}", phone, "",
                             f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                             rng.choice(("F", "M")), "Nairobi", "Trader", branch_code])
    started = time.perf_counter()
    summary = import_book(engine, actor, "customers", path)
    seconds = time.perf_counter() - started
    rate = rows / seconds
    print(f"  import: {', '.join(summary.lines()[1:])}", file=sys.stderr, flush=True)
    bench.add(f"import customers ({rows:,} rows, validation and writing, one transaction per row)",
              f"{seconds:.1f} s = {rate:,.0f} rows/s ({summary.counts.get('imported', 0):,} imported)",
              "≥ 2,000 rows/s", rate >= 2000 and summary.counts.get("imported", 0) == rows)
    started = time.perf_counter()
    again = import_book(engine, actor, "customers", path)
    seconds = time.perf_counter() - started
    bench.add(f"import customers again (the same {rows:,} rows: already imported)",
              f"{seconds:.1f} s = {rows / seconds:,.0f} rows/s", "",
              None if again.counts.get("already imported") == rows else False)
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


def run_search(bench: Bench, engine: Engine, officer: object, runs: int, who: str, branch: int | None = None) -> None:
    from db.repositories.customers import CustomerRepository

    repo = CustomerRepository(engine, officer)  # type: ignore[arg-type]
    rng = random.Random(5)
    def sample(size: int) -> dict[str, list[str]]:
        with engine.connect() as conn:
            top = conn.execute(text("SELECT max(id) FROM customers")).scalar_one()
            ids = [rng.randint(1, top) for _ in range(size * (25 if branch else 1))]
            rows = conn.execute(text("""
                SELECT c.first_name, c.last_name, c.phone, c.national_id, c.customer_number,
                       (SELECT l.loan_number FROM loans l WHERE l.customer_id = c.id LIMIT 1)
                FROM customers c WHERE c.id = ANY(:ids) AND (c.branch_id = :b OR CAST(:b AS bigint) IS NULL)
                LIMIT :n"""), {"ids": ids, "b": branch, "n": size}).all()
        return {
            "name fragment": [f"{r[0][:4]} {r[1][:5]}" if i % 2 else r[1][:6] for i, r in enumerate(rows)],
            "phone (exact)": [r[2] for r in rows if r[2]],
            "national ID (exact)": [r[3] for r in rows],
            "customer number (exact)": [r[4] for r in rows],
            "loan number (exact)": [r[5] for r in rows if r[5]],
        }

    # Warm up on other customers than the measured ones: the server's caches and the pool, never a result.
    for queries in sample(runs).values():
        for q in queries:
            repo.search(q)
    kinds = sample(runs)
    for kind, queries in kinds.items():
        samples = []
        for q in queries:
            started = time.perf_counter()
            repo.search(q)
            samples.append((time.perf_counter() - started) * 1000)
        p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
        target = 15.0 if kind == "name fragment" else 2.0
        bench.add(f"search ({who}): {kind}", f"p50 {p50:.2f} ms, p95 {p95:.2f} ms", f"p95 ≤ {target:g} ms",
                  p95 <= target)


def run_reports(bench: Bench, engine: Engine, supervisor: object, today: date, runs: int, who: str,
                branch: int | None = None) -> None:
    from db.engine import unit_of_work
    from db.repositories.reports import OverdueLoan, ReportRepository

    repo = ReportRepository(engine, supervisor)  # type: ignore[arg-type]
    first = _timed(lambda: repo.overdue_queue(today), 50)
    bench.add(f"overdue queue ({who}): first page (50)", f"p50 {statistics.median(first):.2f} ms, p95 "
              f"{_percentile(first, 0.95):.2f} ms", "p95 ≤ 50 ms", _percentile(first, 0.95) <= 50)
    with unit_of_work(engine, supervisor) as conn:  # type: ignore[arg-type]
        total = conn.execute(text("SELECT count(*) FROM overdue_loans_as_of(:d)"), {"d": today}).scalar_one()
        deep = conn.execute(text("""SELECT * FROM overdue_loans_as_of(:d) ORDER BY oldest_due_date, loan_id
                                    OFFSET :o LIMIT 1"""), {"d": today, "o": int(total * 0.8)}).mappings().one()
    after = OverdueLoan(deep["loan_id"], deep["loan_number"], deep["customer_name"], deep["phone"],
                        deep["days_past_due"], deep["amount_overdue"], deep["oldest_due_date"],
                        deep["outstanding_principal"], deep["loan_officer_id"], deep["loan_officer_name"] or "")
    page = _timed(lambda: repo.overdue_queue(today, after=after), 50)
    bench.add(f"overdue queue ({who}): deep page (after row {int(total * 0.8):,} of {total:,})",
              f"p50 {statistics.median(page):.2f} ms, p95 {_percentile(page, 0.95):.2f} ms", "p95 ≤ 50 ms",
              _percentile(page, 0.95) <= 50)
    with unit_of_work(engine, supervisor) as conn:  # type: ignore[arg-type]
        if branch is None:
            par = _timed(lambda: conn.execute(text("SELECT calculate_par(30)")).scalar_one(), 20)
            call = "calculate_par(30)"
        else:
            par = _timed(lambda: conn.execute(text("SELECT calculate_par(30, current_date, :b)"),
                                              {"b": branch}).scalar_one(), 20)
            call = "calculate_par(30, today, branch)"
        bench.add(f"{call} ({who})", f"median {statistics.median(par):.1f} ms, p95 {_percentile(par, 0.95):.1f} ms",
                  "≤ 300 ms", _percentile(par, 0.95) <= 300)
    if branch is not None:
        return
    with engine.begin() as conn:
        refresh = _timed(lambda: conn.execute(text("SELECT refresh_monthly_financial_summary()")), 3)
    bench.add("refresh_monthly_financial_summary()", f"median {statistics.median(refresh):.0f} ms")
    with engine.begin() as conn:
        maint = _timed(lambda: conn.execute(text("SELECT perform_database_maintenance()")), 1)
    bench.add("perform_database_maintenance()", f"{maint[0] / 1000:.1f} s (after the payment run's audit rows)")


def run_app_memory(bench: Bench, url: URL) -> None:
    """The real app in a process of its own (bench/app_speed.py): keystroke to results on screen, and memory."""
    from bench.app_speed import measure

    result = measure(url)  # 200 surnames of the book, typed key by key into the customer lookup
    checked = (f"{len(result.latencies):,} keys, {result.names} surnames, debounce {result.debounce_ms:.0f} ms; "
               f"p95 of the search call {result.query_p95:.1f} ms, of the rest {result.app_p95:.1f} ms")
    if result.unanswered or result.stale:
        checked += f"; {result.unanswered} never shown, {len(result.stale)} stale"
    ok = result.p95 <= 100 and not result.unanswered and not result.stale
    bench.add("search keystroke → results on screen",
              f"p50 {result.p50:.1f} ms, p95 {result.p95:.1f} ms ({checked})", "p95 ≤ 100 ms", ok)
    peak = result.peak_after_sign_in_mb
    after = "" if peak is None else f", peak from the first key {peak:.0f} MB"
    bench.add("resident memory of the app", f"{result.rss_mb:.0f} MB after the run{after}; peak with sign-in "
              f"{result.peak_mb:.0f} MB", "≤ 150 MB",
              max(result.rss_mb, peak or 0) <= 150)


def _explained(engine: Engine, call: Callable[[Engine], object]) -> list[str]:
    """The plans (EXPLAIN ANALYZE, with buffers) of every statement `call` runs on an engine like `engine`, and of
    the statements run inside the functions it calls: auto_explain's nested statements, sent to the client as
    notices. Run as the application runs them: the repositories take the person's role, so the plans are those
    under the branches' row-level security."""
    from sqlalchemy import event

    notices: list[str] = []
    explaining = create_engine(engine.url, poolclass=pool.NullPool)

    @event.listens_for(explaining, "connect")
    def _explain(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        with dbapi_connection.cursor() as cursor:
            for setting in EXPLAIN_SETTINGS:  # fixed settings above
                cursor.execute(setting)
        dbapi_connection.commit()

    try:
        call(explaining)
    finally:
        explaining.dispose()
    return [notice for notice in notices if "Query Text" in notice and "set_config(" not in notice]


EXPLAIN_SETTINGS = ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0", "SET auto_explain.log_analyze = on",
                    "SET auto_explain.log_buffers = on", "SET auto_explain.log_nested_statements = on",
                    "SET auto_explain.log_level = notice")


def explain(engine: Engine, people: dict[str, object], today: date) -> None:
    """The plans of the hot reads, as head office and as the staff of one branch."""
    from db.repositories.customers import CustomerRepository
    from db.repositories.reports import ReportRepository

    searches = {
        "name search, four letters or more (wanjiru)": "wanjiru",
        "name search, two or three letters (Kim: the start of a surname or first name)": "Kim",
        "phone search": "+254712345678",
        "customer number": "C-012345",
        "loan number": "L-012345",
    }
    for who, person in people.items():
        if "officer" not in who:
            continue
        for title, typed in searches.items():
            plans = _explained(engine, lambda e, p=person, t=typed: CustomerRepository(e, p).search(t))  # type: ignore[misc]
            print(f"\n-- {title}, as {who}\n" + "\n\n".join(plans))
    for who, person in people.items():
        if "supervisor" not in who:
            continue
        plans = _explained(engine, lambda e, p=person: ReportRepository(e, p).overdue_queue(today))  # type: ignore[misc]
        print(f"\n-- overdue queue, first page, as {who}\n" + "\n\n".join(plans))
        plans = _explained(engine, lambda e, p=person: _par(e, p, today))  # type: ignore[misc]
        print(f"\n-- calculate_par(30), as {who}\n" + "\n\n".join(plans))


def _par(engine: Engine, person: object, today: date) -> object:
    from db.engine import unit_of_work

    with unit_of_work(engine, person) as session:  # type: ignore[arg-type]
        return session.execute(text("SELECT calculate_par(30, :d)"), {"d": today}).scalar_one()


def _bench_cashiers(engine: Engine, branch: int, count: int) -> list[int]:
    """`count` cashiers of the branch (bench.cashier0 …), each with a till of its own (B0 …); their ids by client."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_cashiers"))
        conn.execute(text("CREATE TABLE bench_cashiers (n integer PRIMARY KEY, user_id bigint NOT NULL, "
                          "till_id bigint NOT NULL)"))
        for n in range(count):
            user = conn.execute(text(
                "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
                "VALUES (:u, '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$YmVuY2g', :u, 'cashier', :b) "
                "ON CONFLICT DO NOTHING RETURNING id"), {"u": f"bench.cashier{n}", "b": branch}).scalar()
            if user is None:
                user = conn.execute(text("SELECT id FROM users WHERE username = :u"),
                                    {"u": f"bench.cashier{n}"}).scalar_one()
            till = conn.execute(text(
                "INSERT INTO tills (branch_id, code, name) VALUES (:b, :c, :c) "
                "ON CONFLICT (branch_id, code) DO UPDATE SET is_active = true RETURNING id"),
                {"b": branch, "c": f"B{n}"}).scalar_one()
            conn.execute(text("INSERT INTO bench_cashiers VALUES (:n, :u, :t)"), {"n": n, "u": user, "t": till})
        conn.execute(text("GRANT SELECT ON bench_cashiers TO astrofin_cashier"))
        conn.execute(text("DROP TABLE IF EXISTS bench_branch_payable"))
        conn.execute(text(
            "CREATE TABLE bench_branch_payable AS SELECT row_number() OVER (ORDER BY id) AS n, id AS loan_id "
            "FROM loans WHERE branch_id = :b AND status IN ('active', 'defaulted') AND principal_outstanding > 600"),
            {"b": branch})
        conn.execute(text("CREATE UNIQUE INDEX ON bench_branch_payable (n)"))
        conn.execute(text("GRANT SELECT ON bench_branch_payable TO astrofin_cashier"))
        return [int(u) for u in conn.execute(text("SELECT user_id FROM bench_cashiers ORDER BY n")).scalars()]


def _open_tills(engine: Engine, cashiers: list[int]) -> list[int]:
    """Each cashier opens their own till with no float, as the counter does (open_till, in their name)."""
    sessions = []
    with engine.begin() as conn:
        for n, user in enumerate(cashiers):
            conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(user)})
            sessions.append(int(conn.execute(text(
                "SELECT open_till(c.till_id, 0, c.user_id) FROM bench_cashiers c WHERE c.n = :n"),
                {"n": n}).scalar_one()))
    return sessions


def _close_tills(engine: Engine) -> None:
    """Every open session of the bench cashiers closed by its cashier, counting exactly what it expects."""
    with engine.begin() as conn:
        open_sessions = conn.execute(text(
            "SELECT s.id, s.cashier_id FROM till_sessions s JOIN bench_cashiers c ON c.user_id = s.cashier_id "
            "WHERE s.status = 'open'")).all()
        for session, user in open_sessions:
            conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(user)})
            conn.execute(text(
                "SELECT close_till(s.id, s.opening_float + c.cash_in - c.cash_out, NULL, s.cashier_id) "
                "FROM till_sessions s, till_session_cash(s.id) c WHERE s.id = :s"), {"s": session})


def run_till_payments(bench: Bench, server: object, engine: Engine, branch: int) -> None:
    """Payments in a branch that requires tills, each pgbench client a cashier with an open till of its own,
    alternated with the same run without tills (no open till, the branch not requiring them): the tps of both
    beside TPC-B, and the ratio with tills within 10 % of the ratio without."""
    args = bench.args
    cashiers = _bench_cashiers(engine, branch, args.clients)
    with engine.connect() as conn:
        loans = conn.execute(text("SELECT count(*) FROM bench_branch_payable")).scalar_one()
    script = Path(tempfile.mkstemp(suffix=".sql")[1])
    script.write_text(TILL_PAYMENT_SCRIPT.format(loans=loans))
    script.chmod(0o644)
    common = ["-c", str(args.clients), "-j", "2", "-T", str(args.seconds), "-n"]
    ratios: dict[bool, list[float]] = {False: [], True: []}
    for with_tills in (False, True, False, True):
        _close_tills(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE branches SET tills_required = :r WHERE id = :b"), {"r": with_tills, "b": branch})
        if with_tills:
            _open_tills(engine, cashiers)
        tpcb = tps(pgbench(server, common, "pgbench_tpcb"))
        payments = tps(pgbench(server, [*common, "-f", str(script)], "astrofin_bench"))
        ratios[with_tills].append(payments / tpcb if tpcb else 0.0)
        label = f"each client a cashier with an open till ({loans:,} loans)" if with_tills else "without tills"
        bench.add(f"record_loan_payment in one branch via pgbench ({args.clients} clients), {label}",
                  f"{payments:,.0f} tps beside TPC-B-like (scale 20) {tpcb:,.0f} tps = {ratios[with_tills][-1]:.2f} "
                  "× TPC-B")
    _close_tills(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE branches SET tills_required = false WHERE id = :b"), {"b": branch})
    before, after = statistics.median(ratios[False]), statistics.median(ratios[True])
    drop = 1 - after / before if before else 1.0
    bench.add("payments / TPC-B: tills' cost", f"{after:.2f} with tills against {before:.2f} without "
              f"(medians of 2): {drop * 100:.1f} % lower", "≤ 10 % lower", drop <= 0.10)
    script.unlink()


def run_payoff_quote(bench: Bench, engine: Engine, cashier: object, runs: int) -> None:
    """The payoff quote of a random active or defaulted loan, as a head-office cashier through the repository (the
    unit of work, its role and the call): p50 and p95 of `runs` loans, after as many others to warm up."""
    from db.engine import unit_of_work
    from db.repositories.payments import PaymentRepository

    repo = PaymentRepository(engine, cashier)  # type: ignore[arg-type]
    today = date.today()
    with engine.connect() as conn:
        loans = list(conn.execute(text("SELECT id FROM loans WHERE status IN ('active', 'defaulted') "
                                       "ORDER BY random() LIMIT :n"), {"n": 2 * runs}).scalars())
    for loan in loans[runs:]:
        repo.payoff_quote(loan, today)
    samples = []
    for loan in loans[:runs]:
        started = time.perf_counter()
        repo.payoff_quote(loan, today)
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
    bench.add(f"payoff_quote of one loan ({len(samples)} loans, head-office cashier)",
              f"p50 {p50:.2f} ms, p95 {p95:.2f} ms", "p95 ≤ 5 ms", p95 <= 5)
    # What the figure is made of: the function alone inside one unit of work, and a unit of work that does nothing
    # (its role, settings and commit), measured in the same minutes.
    with unit_of_work(engine, cashier) as work:  # type: ignore[arg-type]
        alone = _timed_each(lambda loan: work.execute(text("SELECT * FROM payoff_quote(:l)"), {"l": loan}).one(),
                            loans[:runs])

    def empty(_: int) -> None:
        with unit_of_work(engine, cashier) as work:  # type: ignore[arg-type]
            work.execute(text("SELECT 1")).one()

    idle = _timed_each(empty, loans[:runs])
    bench.add("  the function alone, in one unit of work", f"p50 {statistics.median(alone):.2f} ms, p95 "
              f"{_percentile(alone, 0.95):.2f} ms")
    bench.add("  a unit of work doing nothing (SELECT 1)", f"p50 {statistics.median(idle):.2f} ms, p95 "
              f"{_percentile(idle, 0.95):.2f} ms")


def _timed_each(call: Callable[[int], object], items: list[int]) -> list[float]:
    out = []
    for item in items:
        started = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def run_till_close(bench: Bench, engine: Engine, branch: int) -> None:
    """close_till of a session holding CLOSE_PAYMENTS cash payments, as its cashier through the application's unit
    of work (the call and its commit): the median of CLOSE_SAMPLES closes, a fresh session each time."""
    from db.engine import Actor, unit_of_work

    _close_tills(engine)
    with engine.connect() as conn:
        user, till = conn.execute(text("SELECT user_id, till_id FROM bench_cashiers WHERE n = 0")).one()
        loans = conn.execute(text("SELECT count(*) FROM bench_branch_payable")).scalar_one()
    cashier = Actor(int(user), "bench.cashier0", "cashier")
    samples = []
    for _ in range(CLOSE_SAMPLES):
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(user)})
            session = conn.execute(text("SELECT open_till(:t, 0, :u)"), {"t": till, "u": user}).scalar_one()
            # The day's payments, spread over the branch's loans (a loan paid more than once when there are fewer).
            conn.execute(text(
                "SELECT record_loan_payment(p.loan_id, 1.00, current_date, :u) FROM generate_series(1, :k) g "
                "JOIN bench_branch_payable p ON p.n = 1 + (g - 1) % :loans ORDER BY g"),
                {"u": user, "k": CLOSE_PAYMENTS, "loans": loans})
            expected = conn.execute(text("SELECT c.cash_in - c.cash_out FROM till_session_cash(:s) c"),
                                    {"s": session}).scalar_one()
        started = time.perf_counter()
        with unit_of_work(engine, cashier) as work:
            work.execute(text("SELECT close_till(:s, :c, NULL, :u)"), {"s": session, "c": expected, "u": user})
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    bench.add(f"close_till of a session holding {CLOSE_PAYMENTS} cash payments",
              f"median {median:.1f} ms of {CLOSE_SAMPLES} closes (slowest {max(samples):.1f} ms)", "≤ 100 ms",
              median <= 100)


def run_penalties(bench: Bench, engine: Engine, scale: int) -> None:
    """apply_overdue_penalties as the maintenance job runs it (the owner, every branch), on the freshly seeded book:
    the first run of the day (every occurrence due in the book's arrears, caught up) and a second run the same day
    (nothing left to write). Targets at 1,000,000 customers: 60 s and 10 s, scaled to the book's size."""
    # The seed puts a loan under a demo product only when its terms fit one (about a third of the arrears book);
    # every other active loan is put here under a product of its method and frequency with a late rule and no fee,
    # so that the whole arrears book is charged (about 160,000 loans at 1,000,000 customers).
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, penalty_method, "
            "penalty_value, penalty_grace_days, penalty_interval_days, penalty_cap) "
            "SELECT 'BENCH-' || upper(left(m, 4)) || '-' || upper(f), 'Bench late rule', m, f, "
            "'percent_of_overdue_installment', 5, 3, 30, 2000 "
            "FROM unnest(ARRAY['flat', 'declining_balance']) m, unnest(ARRAY['weekly', 'biweekly', 'monthly']) f"))
        conn.execute(text(
            "UPDATE loans l SET product_id = p.id FROM loan_products p "
            "WHERE l.product_id IS NULL AND l.status IN ('active', 'defaulted') AND p.code LIKE 'BENCH-%' "
            "AND p.interest_method = l.interest_method AND p.repayment_frequency = l.repayment_frequency"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE loans"))
    with engine.connect() as conn:
        arrears = conn.execute(text(
            "SELECT count(*) FROM loans l JOIN loan_products p ON p.id = l.product_id "
            "WHERE l.status IN ('active', 'defaulted') AND l.oldest_unpaid_due_date < current_date "
            "AND p.penalty_method <> 'none'")).scalar_one()
    figures = []
    for _ in range(2):
        started = time.perf_counter()
        with engine.begin() as conn:
            written = conn.execute(text("SELECT apply_overdue_penalties()")).scalar_one()
        figures.append((time.perf_counter() - started, int(written)))
    (first, first_written), (second, second_written) = figures
    share = scale / 1_000_000
    bench.add("apply_overdue_penalties, first run of the day",
              f"{first:.1f} s ({first_written:,} charges on {arrears:,} loans in arrears under a rule)",
              "≤ 60 s", first <= 60 * share)
    bench.add("apply_overdue_penalties, second run the same day",
              f"{second:.2f} s ({second_written:,} charges)", "≤ 10 s",
              second <= 10 * share and second_written == 0)


SHEET_SAMPLES = 20


def _field_session(engine: Engine, officer: int) -> None:
    """A loan officer's field till session (float 0) where their branch requires tills, as they open one before a
    meeting: on a till of their own branch made for the bench if need be."""
    with engine.begin() as conn:
        branch, required = conn.execute(text("SELECT b.id, b.tills_required FROM users u "
                                             "JOIN branches b ON b.id = u.branch_id WHERE u.id = :u"),
                                        {"u": officer}).one()
        held = conn.execute(text("SELECT 1 FROM till_sessions WHERE cashier_id = :u AND status = 'open'"),
                            {"u": officer}).first()
        if not required or held:
            return
        till = conn.execute(text("INSERT INTO tills (branch_id, code, name) VALUES (:b, :c, 'Field (bench)') "
                                 "ON CONFLICT (branch_id, code) DO UPDATE SET is_active = true RETURNING id"),
                            {"b": branch, "c": f"F{officer}"[:10]}).scalar_one()
        conn.execute(text("SELECT set_config('astrofin.user_id', :u, true)"), {"u": str(officer)})
        conn.execute(text("SELECT open_till(:t, 0, :u)"), {"t": till, "u": officer})


def run_collection_sheet(bench: Bench, engine: Engine, today: date) -> None:
    """A center's collection sheet of about 40 member loans (the scale seed's centers of four groups of twelve), loaded
    through CollectionSheetRepository.load and posted through .post (every line paying what is due), each as the
    application does it, by the center's loan officer from the meeting (the cash into their field till session where
    the branch requires tills): one unit of work, its commit included. p95 of SHEET_SAMPLES centers, the largest
    first."""
    from decimal import Decimal

    from db.engine import Actor
    from db.repositories.groups import CollectionSheetRepository, SheetEntry

    with engine.connect() as conn:
        centers = conn.execute(text(
            "SELECT g.parent_id, count(*) FROM loans l JOIN groups g ON g.id = l.group_id "
            "WHERE l.status IN ('active', 'defaulted') AND g.parent_id IS NOT NULL "
            "GROUP BY g.parent_id ORDER BY count(*) DESC, g.parent_id LIMIT :n"), {"n": SHEET_SAMPLES}).all()
        days = {c: conn.execute(text("SELECT next_meeting_date(:c, CAST(:d AS date) - 6)"),
                                {"c": c, "d": today}).scalar_one() for c, _n in centers}
        officers = {c: Actor(*conn.execute(text(
            "SELECT u.id, u.username, u.role, u.full_name FROM groups g JOIN users u ON u.id = g.loan_officer_id "
            "WHERE g.id = :c"), {"c": c}).one()) for c, _n in centers}
    if not centers:
        bench.add("collection sheet", "no centers in the book (seed without groups?)")
        return
    for officer in {o.user_id for o in officers.values()}:
        _field_session(engine, officer)
    repos = {c: CollectionSheetRepository(engine, officers[c]) for c, _n in centers}
    sheets = {}
    loads = []
    for center, _n in centers:
        started = time.perf_counter()
        sheets[center] = repos[center].load(center, days[center])
        loads.append((time.perf_counter() - started) * 1000)
    sizes = [len(sheet.lines) for sheet in sheets.values()]
    posts = []
    for center, sheet in sheets.items():
        # What is due, or 100.00 ahead of time (at most what the loan owes) where nothing is: a repayment a line.
        lines = [SheetEntry(line.loan_id, line.due if line.due > 0 else min(line.max_payable, Decimal("100.00")),
                            True) for line in sheet.lines]
        started = time.perf_counter()
        repos[center].post(center, days[center], lines, f"bench-sheet-{center}-{days[center]}")
        posts.append((time.perf_counter() - started) * 1000)
    paid = sum(1 for sheet in sheets.values() for line in sheet.lines if line.max_payable > 0)
    bench.add(f"collection sheet of a center ({min(sizes)}-{max(sizes)} member loans): load",
              f"p50 {statistics.median(loads):.1f} ms, p95 {_percentile(loads, 0.95):.1f} ms of {len(loads)}",
              "p95 ≤ 100 ms", _percentile(loads, 0.95) <= 100)
    bench.add(f"collection sheet of a center: post ({paid / len(posts):.0f} repayments a sheet on average)",
              f"p50 {statistics.median(posts):.0f} ms, p95 {_percentile(posts, 0.95):.0f} ms of {len(posts)}",
              "p95 ≤ 1 s", _percentile(posts, 0.95) <= 1000)


RESCHEDULE_SAMPLES = 7


def run_reschedules(bench: Bench, engine: Engine, officer: Any, supervisor: Any, today: date, runs: int) -> None:
    """preview_reschedule of the book's longest active loan as the form calls it (its whole unpaid tail to a new date
    two weeks ahead), and approve_reschedule through the application's unit of work (request by a head-office
    officer, approval by a supervisor) on RESCHEDULE_SAMPLES of the longest active loans: the history copy, the new
    tail and the loans' summary columns in one transaction."""
    from datetime import timedelta

    from db.errors import AstrofinError
    from db.repositories.reschedules import RescheduleRepository, RescheduleTerms

    with engine.connect() as conn:
        loans = conn.execute(text(
            "SELECT l.id, min(s.installment_number) AS first, count(*) AS rows FROM loans l "
            "JOIN payment_schedules s ON s.loan_id = l.id AND s.paid_date IS NULL "
            "WHERE l.status = 'active' GROUP BY l.id ORDER BY count(*) DESC, l.id LIMIT :n"),
            {"n": RESCHEDULE_SAMPLES + 1}).all()
    if not loans:
        bench.add("reschedule", "no active loan in the book")
        return
    officers, supervisors = RescheduleRepository(engine, officer), RescheduleRepository(engine, supervisor)
    terms = {loan.id: RescheduleTerms(loan.first, today + timedelta(days=14)) for loan in loans}  # within products
    first = loans[0]
    try:
        samples = _timed(lambda: officers.preview(first.id, terms[first.id]), runs)
    except AstrofinError as error:
        bench.add("preview_reschedule", f"refused: {error}")
        return
    bench.add(f"preview_reschedule of an unpaid tail of {first.rows} installments",
              f"median {statistics.median(samples):.1f} ms, p95 {_percentile(samples, 0.95):.1f} ms")
    approvals = []
    for loan in loans[1:]:
        try:
            request = officers.request(loan.id, terms[loan.id], "Benchmark")
            started = time.perf_counter()
            supervisors.approve(request)
            approvals.append((time.perf_counter() - started) * 1000)
        except AstrofinError as error:
            print(f"  reschedule of loan {loan.id} refused: {error}", file=sys.stderr, flush=True)
    if approvals:
        bench.add(f"approve_reschedule (tails of {loans[-1].rows}–{loans[1].rows} installments)",
                  f"median {statistics.median(approvals):.1f} ms of {len(approvals)} (slowest {max(approvals):.1f} ms)")


if __name__ == "__main__":
    sys.exit(main())
