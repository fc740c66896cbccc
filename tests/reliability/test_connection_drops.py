"""Drop the application's connection in the middle of repository saves — before each statement and before
the commit, by pg_terminate_backend of the app's backend and by a server restart — and check that nothing
is half written and that saving again (same key, same engine) lands once.

The engine is the application's own (db.engine.make_engine: its checkout check pings a connection whose socket
shows the server ended it); no reconnect logic is added for these tests, so they also show that a save after a drop
needs nothing more than pressing save again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL

from db.engine import Actor, make_engine
from db.errors import AstrofinError, DatabaseUnavailable
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.repositories.payments import PaymentRepository
from db.validation import CustomerInput
from tests.reliability.faultlib import (
    TODAY,
    FaultServer,
    fingerprint,
    ledger_problems,
    make_active_loans,
    payments_by_key,
    record,
    scale,
    staff_actors,
)


@dataclass
class Drop:
    """Cut the connection just before the `at`-th statement or commit the engine sends (1-based)."""

    server: FaultServer
    how: str  # "terminate" or "restart"
    at: int
    seen: int = 0
    fired: bool = False

    def hit(self, conn: Any) -> None:
        self.seen += 1
        if self.seen != self.at or self.fired:
            return
        self.fired = True
        if self.how == "restart":
            self.server.fast_restart()
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        admin = self.server.admin()
        try:
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        finally:
            admin.dispose()


@contextmanager
def dropping(engine: Engine, drop: Drop | None) -> Iterator[list[str]]:
    """Count (and with a Drop, cut at) each statement and commit the engine sends; yields their kinds."""
    kinds: list[str] = []

    def before_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        kinds.append(" ".join(statement.split())[:40])
        if drop is not None:
            drop.hit(conn)

    def before_commit(conn: Any) -> None:
        kinds.append("COMMIT")
        if drop is not None:
            drop.hit(conn)

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "commit", before_commit)
    try:
        yield kinds
    finally:
        event.remove(engine, "before_cursor_execute", before_statement)
        event.remove(engine, "commit", before_commit)


def _commit_step(kinds: list[str]) -> int:
    """The step whose sending commits the save: its COMMIT, or, for a save sent as one message (db/one_trip.py: the
    settings, the call and the read of its result, committed by the server at the message's end), that message."""
    if "COMMIT" in kinds:
        return kinds.index("COMMIT") + 1
    assert len(kinds) == 1 and kinds[0].startswith("SELECT set_config('astrofin.user_id'"), kinds
    return 1


@dataclass
class Save:
    """One repository save: how to prepare a fresh case, do it, and see what it wrote."""

    name: str
    prepare: Callable[[], Any]
    run: Callable[[Any], Any]
    landed: Callable[[Any], int]
    """How many times the save's effect is in the database (0 or 1 is sound; 2 is a double save)."""
    retry_refusal: str | None = None
    """When the first save did commit, the retry is refused with this message instead of saving twice."""


def _saves(engine: Engine, check: Engine, actors: dict[str, Actor]) -> list[Save]:
    def pay_prepare() -> tuple[int, str]:
        return make_active_loans(check, actors, 1)[0], uuid.uuid4().hex

    def pay(case: tuple[int, str]) -> Any:
        return PaymentRepository(engine, actors["cashier"]).record(case[0], Decimal("25.00"), TODAY, case[1])

    def paid(case: tuple[int, str]) -> int:
        return len(payments_by_key(check).get(case[1], []))

    def customer_prepare() -> str:
        return uuid.uuid4().hex  # the form's key; no national ID, so nothing else could catch a double

    def create(key: str) -> Any:
        return CustomerRepository(engine, actors["officer"]).create(
            CustomerInput(first_name="Drop", last_name=f"Test{key[:6]}", phone="+254712345678",
                          date_of_birth=date(1990, 1, 1)), today=TODAY, idempotency_key=key)

    def created(key: str) -> int:
        with check.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM customers WHERE last_name = :n"),
                                    {"n": f"Test{key[:6]}"}).scalar_one())

    def application_prepare() -> tuple[int, str]:
        customer = CustomerRepository(check, actors["officer"]).create(
            CustomerInput(first_name="Applies", last_name="Once", phone="+254712345678"), today=TODAY)
        return customer.id, uuid.uuid4().hex

    def apply(case: tuple[int, str]) -> Any:
        terms = LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")
        return LoanRepository(engine, actors["officer"]).apply(LoanApplication(case[0], terms), today=TODAY,
                                                               idempotency_key=case[1])

    def applied(case: tuple[int, str]) -> int:
        with check.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM loans WHERE customer_id = :c"),
                                    {"c": case[0]}).scalar_one())

    def pending_prepare() -> int:
        customer = CustomerRepository(check, actors["officer"]).create(
            CustomerInput(first_name="Pending", last_name="Loan", phone="+254712345678"), today=TODAY)
        terms = LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")
        return LoanRepository(check, actors["officer"]).apply(LoanApplication(customer.id, terms), today=TODAY).id

    def approve(loan_id: int) -> Any:
        return LoanRepository(engine, actors["supervisor"]).approve(loan_id)

    def approved(loan_id: int) -> int:
        with check.connect() as conn:
            # The audit log holds one row per change of the loan: count the changes to 'approved'.
            return int(conn.execute(text(
                "SELECT count(*) FROM audit_logs WHERE table_name = 'loans' AND record_id = :l "
                "AND action = 'UPDATE' AND new_values->>'status' = 'approved'"), {"l": loan_id}).scalar_one())

    return [
        Save("payment record (cashier)", pay_prepare, pay, paid),
        Save("customer create without a national ID, with the form's key (loan officer)", customer_prepare,
             create, created),
        Save("loan application with the form's key (loan officer)", application_prepare, apply, applied),
        Save("loan approve (supervisor)", pending_prepare, approve, approved, "approved"),
    ]


def _one_drop(server: FaultServer, engine: Engine, check: Engine, save: Save, how: str, at: int,
              commit_at: int) -> str:
    case = save.prepare()
    before = fingerprint(check)
    drop = Drop(server, how, at)
    with dropping(engine, drop), pytest.raises(DatabaseUnavailable):
        save.run(case)
    assert drop.fired
    landed = save.landed(case)
    if at <= commit_at:  # cut before the commit reached the server: nothing at all was written
        assert landed == 0
        assert fingerprint(check) == before, f"{save.name}: half written after a drop at step {at}"
    else:  # cut after the commit, while reading the result back: written whole
        assert landed == 1
    assert ledger_problems(check) == []
    # The person saves again: same form, same key, same engine (its pool meets the dead connection).
    try:
        save.run(case)
        outcome = "returned the first save's row" if landed == 1 else "saved"
    except AstrofinError as exc:
        assert landed == 1 and save.retry_refusal and save.retry_refusal in str(exc), str(exc)
        outcome = "refused as already done"
    assert save.landed(case) == 1, f"{save.name}: the retry after a drop at step {at} did not land exactly once"
    assert ledger_problems(check) == []
    return outcome


@pytest.mark.parametrize("how", ["terminate", "restart"])
def test_a_dropped_connection_never_half_writes_and_the_retry_lands_once(
        fault_server: FaultServer, fault_url: URL, fault_engine: Engine, how: str) -> None:
    actors = staff_actors(fault_engine)
    engine = make_engine(fault_url)
    try:
        for save in _saves(engine, fault_engine, actors):
            with dropping(engine, None) as kinds:  # a dry run names the steps of this save
                save.run(save.prepare())
            commit_at = _commit_step(kinds)
            steps = list(range(1, len(kinds) + 1))
            if how == "restart" and scale() == 1:
                # A restart takes about a second: in the quick run, the main write and the commits only.
                steps = sorted({commit_at - 1, commit_at, len(kinds)} - {0})
            outcomes: dict[str, int] = {}
            for at in steps:
                outcome = _one_drop(fault_server, engine, fault_engine, save, how, at, commit_at)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            label = "pg_terminate_backend of the app's backend" if how == "terminate" else "server restart (fast)"
            record(f"{label} before each statement/commit of a {save.name}", len(steps),
                   f"{len(steps)} drops over {len(kinds)} steps: nothing half written; retry with the same "
                   f"key/form: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
                   + "; landed exactly once every time; reconnect by the pool's checkout check alone")
    finally:
        engine.dispose()
