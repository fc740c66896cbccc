"""Staff of every role, interleaved through PgBouncer in transaction pooling, never act as one another.

Fifteen terminals (the five roles in three branches, each its own engine and client connection, as each terminal is
a process of its own) share three server connections for a few thousand transactions: payments and receipts (one
message each, db/one_trip.py), customer saves and lookups, manual journal entries, the audit log, and actions their
role or branch must be refused. Afterwards:

- every audit row written in the run names, in changed_by, a member of staff of the row's branch, and every row a
  terminal was told it wrote is audited (and created_by) under that terminal's person;
- each kind of action was refused exactly for the people who must be refused it and for nobody else;
- every transaction of a unit of work found its server connection clean before it set anything: the login role,
  no role, no astrofin.user_id, synchronous_commit on.

`uv run python -m bench.pooler` runs the same mix longer and times payments through the pooler against direct.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL

from bench.pgbouncer import Bouncer
from db.engine import Actor, make_engine
from db.errors import NotFound, Refused
from db.repositories.accounting import AccountingRepository, ManualLine
from db.repositories.audit_log import AuditLogRepository
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository
from db.validation import CustomerInput
from tests.branches.book import TODAY, Book, Branch, build_book
from tests.branches.conftest import app_engine as app_engine  # noqa: F401 - the branch book's fixture
from tests.pooler.conftest import POOL_SIZE, STATE_SQL, ServerState
from tests.reliability.faultlib import record, scale

OPS_PER_TERMINAL = 110
"""15 terminals × 110 actions ≈ 2,500 transactions through the pooler (× ASTROFIN_FAULT_SCALE: bench.pooler)."""
ONE_CENT = Decimal("1.00")


@dataclass
class Terminal:
    """One member of staff at one terminal: what they did, what they were refused, what their transactions found."""

    actor: Actor
    branch: Branch
    foreign: Branch
    engine: Engine
    rng: random.Random
    writes: list[tuple[str, int, str]] = field(default_factory=list)
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(action, expected, got) -> how many: expected and got are 'ok' or 'refused'."""
    states: list[ServerState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    made: int = 0


def _watch_begins(terminal: Terminal) -> None:
    """Each transaction the terminal's engine begins reads its server connection's state as its first statement."""

    @event.listens_for(terminal.engine, "begin")
    def _first(conn: Any) -> None:
        driver: psycopg.Connection[Any] = conn.connection.driver_connection
        row = driver.execute(STATE_SQL).fetchone()
        terminal.states.append(ServerState(*row))  # type: ignore[misc]


def _attempt(terminal: Terminal, action: str, allowed: bool, call: Callable[[], object]) -> None:
    try:
        call()
        got = "ok"
    except (Refused, NotFound):
        got = "refused"
    except Exception as exc:  # noqa: BLE001 - anything else is a finding, kept with its words
        terminal.errors.append(f"{terminal.actor.username} {action}: {type(exc).__name__}: {exc}")
        return
    terminal.outcomes[(action, "ok" if allowed else "refused", got)] += 1


def _pay(terminal: Terminal, allowed: bool) -> None:
    me, branch = terminal.actor, terminal.branch
    terminal.made += 1

    def pay() -> None:
        receipt = PaymentRepository(terminal.engine, me).record(branch.loan, ONE_CENT, TODAY,
                                                                f"pool-{me.username}-{terminal.made}")
        terminal.writes.append(("transactions", receipt.transaction_id, "INSERT"))
        # The receipt read back in a message of its own (one_trip): the cashier on it is this terminal's person.
        again = PaymentRepository(terminal.engine, me).receipt(receipt.transaction_id)
        if again.cashier != me.full_name:
            terminal.errors.append(f"{me.username}: receipt {receipt.receipt_number} names {again.cashier}")

    _attempt(terminal, "record a payment", allowed, pay)


def _officer(terminal: Terminal) -> None:
    me, branch, foreign = terminal.actor, terminal.branch, terminal.foreign
    repo = CustomerRepository(terminal.engine, me)
    roll = terminal.rng.random()
    if roll < 0.35:
        terminal.made += 1

        def create() -> None:
            customer = repo.create(CustomerInput(first_name="Pooled", last_name=f"{branch.code}{terminal.made}",
                                                 national_id=f"PL-{me.user_id}-{terminal.made}"), today=TODAY)
            terminal.writes.append(("customers", customer.id, "INSERT"))
            found = repo.search(customer.customer_number).rows  # one message (one_trip)
            if [row.id for row in found] != [customer.id]:
                terminal.errors.append(f"{me.username}: {customer.customer_number} found as {found}")

        _attempt(terminal, "save a new customer", True, create)
    elif roll < 0.55:
        _attempt(terminal, "open a customer", True, lambda: repo.get(branch.customer))
    elif roll < 0.8:
        _attempt(terminal, "open a customer", False, lambda: repo.get(foreign.customer))
    else:
        _pay(terminal, False)


def _cashier(terminal: Terminal) -> None:
    roll = terminal.rng.random()
    if roll < 0.8:
        _pay(terminal, True)
    else:
        _attempt(terminal, "approve a loan", False,
                 lambda: LoanRepository(terminal.engine, terminal.actor).approve(terminal.branch.pending_loan))


def _supervisor(terminal: Terminal) -> None:
    me, branch, foreign = terminal.actor, terminal.branch, terminal.foreign
    roll = terminal.rng.random()
    if roll < 0.5:
        terminal.made += 1

        def update() -> None:
            repo = CustomerRepository(terminal.engine, me)
            data = repo.get(branch.customer).data
            repo.update(branch.customer, replace(data, occupation=f"Trade {terminal.made}"), today=TODAY)

        _attempt(terminal, "edit a customer", True, update)
    elif roll < 0.75:
        _attempt(terminal, "open a loan", False, lambda: LoanRepository(terminal.engine, me).get(foreign.loan))
    else:
        _attempt(terminal, "post a manual journal entry", False, lambda: _post_entry(terminal))


def _post_entry(terminal: Terminal) -> None:
    terminal.made += 1
    entry = AccountingRepository(terminal.engine, terminal.actor).post_manual_entry(
        TODAY, f"Pooler float {terminal.actor.username} {terminal.made}",
        [ManualLine("1000", ONE_CENT, Decimal("0")), ManualLine("3000", Decimal("0"), ONE_CENT)])
    terminal.writes.append(("journal_entries", entry, "INSERT"))


def _accountant(terminal: Terminal) -> None:
    if terminal.rng.random() < 0.7:
        _attempt(terminal, "post a manual journal entry", True, lambda: _post_entry(terminal))
    else:
        _pay(terminal, False)


def _admin(terminal: Terminal) -> None:
    if terminal.rng.random() < 0.6:
        _attempt(terminal, "read the audit log", True,
                 lambda: AuditLogRepository(terminal.engine, terminal.actor).list(limit=20))
    else:
        _pay(terminal, False)


ACTIONS: dict[str, Callable[[Terminal], None]] = {
    "cashier": _cashier, "loan_officer": _officer, "supervisor": _supervisor, "accountant": _accountant,
    "admin": _admin,
}


@pytest.fixture
def terminals(book_through_pooler: tuple[Book, URL]) -> Iterator[list[Terminal]]:
    book, url = book_through_pooler
    made = []
    foreign_of = {book.nrb.code: book.msa, book.nrb2.code: book.msa, book.msa.code: book.nrb}
    for branch in (book.nrb, book.nrb2, book.msa):
        for role, actor in branch.staff.items():
            terminal = Terminal(actor, branch, foreign_of[branch.code], make_engine(url, pool_size=1),
                                random.Random(f"{branch.code}-{role}"))
            _watch_begins(terminal)
            made.append(terminal)
    yield made
    for terminal in made:
        terminal.engine.dispose()


@pytest.fixture
def book_through_pooler(engine: Engine, app_engine: Engine, pooled_url: URL) -> tuple[Book, URL]:  # noqa: F811
    book = build_book(engine, app_engine)
    # The staff's full names as the receipts print them.
    with engine.connect() as conn:
        names: dict[int, str] = {r.id: r.full_name for r in conn.execute(text("SELECT id, full_name FROM users"))}
    for branch in (book.nrb, book.nrb2, book.msa):
        branch.staff = {role: Actor(a.user_id, a.username, a.role, names[a.user_id], branch_id=branch.id)
                        for role, a in branch.staff.items()}
    return book, pooled_url


def _pooler_transactions(bouncer: Bouncer, database: str) -> int:
    with psycopg.connect(host=bouncer.host, port=bouncer.port, dbname="pgbouncer", user="postgres",
                         autocommit=True) as console:
        cursor = console.execute("SHOW STATS", prepare=False)
        columns = [c.name for c in cursor.description or ()]
        for row in cursor.fetchall():
            stats = dict(zip(columns, row, strict=True))
            if stats["database"] == database:
                return int(stats["total_xact_count"])
    return 0


def test_every_role_interleaved_through_the_pooler(terminals: list[Terminal], engine: Engine,
                                                   bouncer: Bouncer, pooled_url: URL) -> None:
    database = pooled_url.database or ""
    with engine.connect() as conn:
        mark = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_logs")).scalar_one()
    before = _pooler_transactions(bouncer, database)
    start = threading.Barrier(len(terminals))

    def run(terminal: Terminal) -> None:
        start.wait()
        act = ACTIONS[terminal.actor.role]
        for _ in range(OPS_PER_TERMINAL * scale()):
            act(terminal)

    threads = [threading.Thread(target=run, args=(t,)) for t in terminals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    transactions = _pooler_transactions(bouncer, database) - before

    errors = [error for t in terminals for error in t.errors]
    assert errors == [], errors[:10]
    assert transactions >= 2000 * scale(), f"only {transactions} transactions went through the pooler"

    # Refusals: each action refused exactly for the people who must be refused it, and for nobody else.
    wrong = {(t.actor.username, *key): n for t in terminals for key, n in t.outcomes.items() if key[1] != key[2]}
    assert wrong == {}, wrong
    refused = sum(n for t in terminals for key, n in t.outcomes.items() if key[2] == "refused")
    allowed = sum(n for t in terminals for key, n in t.outcomes.items() if key[2] == "ok")
    assert refused > 300 * scale() and allowed > 900 * scale(), (refused, allowed)

    # Server connections: every unit of work found its own clean, and fifteen terminals shared three.
    states = [state for t in terminals for state in t.states]
    dirty = [state for state in states if not state.clean]
    assert dirty == [], dirty[:5]
    backends = {state.backend for state in states}
    assert 1 < len(backends) <= POOL_SIZE, backends

    # Audit: every row a terminal wrote, under its person; every audit row of the run, under staff of its branch.
    sender = {(table, record_id, action): t.actor.user_id for t in terminals for table, record_id, action in t.writes}
    with engine.connect() as conn:
        audited = conn.execute(text(
            "SELECT a.table_name, a.record_id, a.action, a.changed_by, a.branch_id, u.branch_id AS staff_branch, "
            "       u.role FROM audit_logs a LEFT JOIN users u ON u.id = a.changed_by WHERE a.id > :mark"),
            {"mark": mark}).all()
        created_by = {("transactions", r.id, "INSERT"): r.created_by for r in conn.execute(text(
            "SELECT id, created_by FROM transactions WHERE id = ANY(:ids)"),
            {"ids": [k[1] for k in sender if k[0] == "transactions"]})}
        created_by |= {("customers", r.id, "INSERT"): r.created_by for r in conn.execute(text(
            "SELECT id, created_by FROM customers WHERE id = ANY(:ids)"),
            {"ids": [k[1] for k in sender if k[0] == "customers"]})}
        created_by |= {("journal_entries", r.id, "INSERT"): r.created_by for r in conn.execute(text(
            "SELECT id, created_by FROM journal_entries WHERE id = ANY(:ids)"),
            {"ids": [k[1] for k in sender if k[0] == "journal_entries"]})}
    by_key = {(r.table_name, r.record_id, r.action): r.changed_by for r in audited}
    misattributed = {key: (by_key.get(key), who) for key, who in sender.items() if by_key.get(key) != who}
    assert misattributed == {}, list(misattributed.items())[:5]
    assert created_by == sender
    strangers = [r for r in audited
                 if r.changed_by is None or (r.branch_id is not None and r.branch_id != r.staff_branch)]
    assert strangers == [], strangers[:5]
    # Only the people allowed to write each kind of row wrote one: refusals wrote nothing.
    writers = {(r.table_name, r.action, r.role) for r in audited if r.table_name in ("transactions", "customers")}
    assert writers <= {("transactions", "INSERT", "cashier"), ("customers", "INSERT", "loan_officer"),
                       ("customers", "UPDATE", "supervisor")}, writers
    payments = sum(1 for key in sender if key[0] == "transactions")
    assert sum(1 for r in audited if (r.table_name, r.action) == ("transactions", "INSERT")) == payments

    record(f"pooler: 15 staff (5 roles × 3 branches) through {bouncer.version} in transaction pooling, "
           f"{POOL_SIZE} server connections", transactions,
           f"{allowed} actions done, {refused} refused exactly where due, {len(audited)} audit rows all under the "
           f"sender's branch and person, {len(states)} transactions found their server connection clean",
           group="pooler")
