"""Each screen's save with the connection cut under it, through Pilot: the application's backend is ended
(pg_terminate_backend) just before the save's COMMIT, or just after it (the reply — the read-back — is
lost). The app must keep the form and what was typed, reconnect by itself, and the person's second save
must land exactly once.

Screens: customer form, loan application, approve, reject, disburse (loan detail), the admin's new-user
form and the accountant's new-account form. The payment form is covered by tests/tui/test_front_payments.py
and test_connection_drops.py; the application has no hand-written journal-entry form (entries are made by
the SQL workflow functions), so the new-account form is the accounting screen's save.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import Input, Select

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from screens.accounting import AccountForm, AccountingScreen
from screens.data import DataScreen
from screens.loan_detail import LoanDetailScreen
from tests.reliability.faultlib import record
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import TODAY, run, settle
from tests.tui.front import front_app, press, sign_in

TERMS = LoanTerms(Decimal("1000.00"), Decimal("24.00"), "flat", 6, "monthly")


@dataclass
class Cut:
    """End the app's backend at the save's commit: `before` it is sent, or `after` it (the next statement)."""

    admin: Engine
    when: str
    armed: bool = False
    fired: bool = False
    committed: bool = False
    log: list[str] = field(default_factory=list)

    def _terminate(self, conn: Any) -> None:
        self.fired = True
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self.admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})

    def statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.armed and not self.fired and self.committed:
            self._terminate(conn)
        elif "astrofin.result" in statement:
            # A save sent as one message (db/one_trip.py): the server commits it at the message's end, so sending it
            # is the commit (as _commit_step in test_connection_drops.py has it).
            self.commit(conn)

    def commit(self, conn: Any) -> None:
        if not self.armed or self.fired:
            return
        if self.when == "before":
            self._terminate(conn)
        else:
            self.committed = True


@contextmanager
def cutting(engine: Engine, cut: Cut) -> Iterator[Cut]:
    event.listen(engine, "before_cursor_execute", cut.statement)
    event.listen(engine, "commit", cut.commit)
    try:
        yield cut
    finally:
        event.remove(engine, "before_cursor_execute", cut.statement)
        event.remove(engine, "commit", cut.commit)


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


async def _back(pilot: Pilot[Any], screen: Any) -> None:
    """Wait until the screen has reconnected (its probe found the database again)."""
    for _ in range(300):
        await settle(pilot)
        if not (isinstance(screen, DataScreen) and screen.connection_lost):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the screen never reconnected")


@dataclass
class Case:
    """One screen's save: open it (returns the screen), save (press the keys), count what landed."""

    name: str
    role: str
    open: Callable[[Pilot[Any]], Any]
    save: Callable[[Pilot[Any]], Any]
    landed: Callable[[], int]
    kept: Callable[[Any], bool] = lambda screen: True


def _cases(engine: Engine, actors: dict[str, Actor], tag: str) -> dict[str, Case]:
    officer = CustomerRepository(engine, actors["officer"])
    loans = LoanRepository(engine, actors["officer"])

    def pending() -> int:
        customer = officer.create(CustomerInput(first_name="Drop", last_name=f"Pending{tag}"), today=TODAY)
        return loans.apply(LoanApplication(customer.id, TERMS), today=TODAY).id

    state: dict[str, int] = {}

    async def open_customer(pilot: Pilot[Any]) -> Any:
        await press(pilot, "f5")
        form = pilot.app.screen
        for name, value in (("first_name", "Cut"), ("last_name", f"Customer{tag}"), ("phone", "+254711000222")):
            form.query_one(f"#{name}", Input).value = value
        form.query_one("#last_name", Input).focus()
        return form

    async def enter(pilot: Pilot[Any]) -> None:
        await press(pilot, "enter")

    owner = officer.create(CustomerInput(first_name="Cut", last_name=f"Applicant{tag}"), today=TODAY)

    async def open_application(pilot: Pilot[Any]) -> Any:
        await press(pilot, "f6")
        form = pilot.app.screen
        form.query_one("#customer", Input).value = owner.customer_number
        form.query_one("#customer", Input).focus()
        await press(pilot, "enter")
        form.query_one("#principal", Input).value = "5000"
        form.query_one("#purpose", Input).value = "stock"
        form.query_one("#purpose", Input).focus()
        await settle(pilot)
        return form

    def open_loan(status: str) -> Callable[[Pilot[Any]], Any]:
        async def opener(pilot: Pilot[Any]) -> Any:
            loan_id = pending()
            if status == "approved":
                LoanRepository(engine, actors["supervisor"]).approve(loan_id)
            state["loan"] = loan_id
            pilot.app.push_screen(LoanDetailScreen(pilot.app.screen_context(), loan_id))  # type: ignore[attr-defined]
            await settle(pilot)
            return pilot.app.screen
        return opener

    def workflow(key: str, *extra: str) -> Callable[[Pilot[Any]], Any]:
        async def act(pilot: Pilot[Any]) -> None:
            await press(pilot, key)
            for typed in extra:
                if typed == "reason":
                    pilot.app.screen.query_one("#reason", Input).value = "Too much debt"
                    await press(pilot, "enter")
                else:
                    await press(pilot, typed)
        return act

    def changed_to(status: str) -> Callable[[], int]:
        return lambda: _count(engine, "SELECT count(*) FROM audit_logs WHERE table_name = 'loans' AND record_id = :l "
                                      "AND action = 'UPDATE' AND new_values->>'status' = :s",
                              l=state["loan"], s=status)

    async def open_user(pilot: Pilot[Any]) -> Any:
        await press(pilot, "f12")
        pilot.app.screen.query_one("#users").focus()
        await press(pilot, "n")
        form = pilot.app.screen
        for name, value in (("#user-username", f"cut.{tag}"), ("#user-full-name", "Cut Teller"),
                            ("#user-password", "counter-pass-1"), ("#user-confirm", "counter-pass-1")):
            form.query_one(name, Input).value = value
        form.query_one("#user-role", Select).value = "cashier"
        return form

    async def open_account(pilot: Pilot[Any]) -> Any:
        await press(pilot, "f8")
        assert isinstance(pilot.app.screen, AccountingScreen)
        await press(pilot, "ctrl+n")
        form = pilot.app.screen
        assert isinstance(form, AccountForm)
        form.query_one("#account-code", Input).value = "1990"
        form.query_one("#account-name", Input).value = "Cut float"
        return form

    async def ctrl_s(pilot: Pilot[Any]) -> None:
        await press(pilot, "ctrl+s")

    return {
        "customer form": Case("customer form", "officer", open_customer, enter,
                              lambda: _count(engine, "SELECT count(*) FROM customers WHERE last_name = :n",
                                             n=f"Customer{tag}"),
                              lambda s: s.query_one("#last_name", Input).value == f"Customer{tag}"),
        "loan application": Case("loan application", "officer", open_application, enter,
                                 lambda: _count(engine, "SELECT count(*) FROM loans WHERE customer_id = :c",
                                                c=owner.id),
                                 lambda s: s.query_one("#principal", Input).value == "5000"),
        "approve": Case("approve", "supervisor", open_loan("pending"), workflow("a", "y"), changed_to("approved")),
        "reject": Case("reject", "supervisor", open_loan("pending"), workflow("r", "reason"), changed_to("rejected")),
        "disburse": Case("disburse", "cashier", open_loan("approved"), workflow("d", "y"), changed_to("active")),
        "new user": Case("admin new user", "admin", open_user, ctrl_s,
                         lambda: _count(engine, "SELECT count(*) FROM users WHERE username = :u", u=f"cut.{tag}"),
                         lambda s: s.query_one("#user-username", Input).value == f"cut.{tag}"),
        "new account": Case("accounting new account", "accountant", open_account, ctrl_s,
                            lambda: _count(engine,
                                           "SELECT count(*) FROM chart_of_accounts WHERE account_code = '1990'"),
                            lambda s: s.query_one("#account-name", Input).value == "Cut float"),
    }


SCREENS = ["customer form", "loan application", "approve", "reject", "disburse", "new user", "new account"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("name", SCREENS)
def test_a_save_cut_at_its_commit_keeps_the_form_and_lands_once(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL,
        tmp_path: Path, name: str, when: str) -> None:
    case = _cases(engine, actors, uuid.uuid4().hex[:6])[name]
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        app.target = target_for(db_url)
        app.settings = settings_for(tmp_path / "backups")
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors[case.role])
            screen = await case.open(pilot)
            with cutting(app_engine, Cut(engine, when)) as cut:
                cut.armed = True
                await case.save(pilot)
                await settle(pilot)
            assert cut.fired, f"{name}: the save never reached its commit"
            first = case.landed()
            assert first == (0 if when == "before" else 1), (name, when, first)
            now = pilot.app.screen
            if first == 0:  # nothing written: the form (or the loan) is still there, with what was typed
                assert now is screen, (name, type(now))
                assert case.kept(screen), f"{name}: what was typed was lost"
            outcome["kept"] = now is screen
            await _back(pilot, now)
            if pilot.app.screen is screen:
                await case.save(pilot)  # the person saves again
                await settle(pilot)
                await _back(pilot, pilot.app.screen)
                outcome["retried"] = True
                outcome["after"] = type(pilot.app.screen).__name__

    run(scenario())
    assert case.landed() == 1, (name, when, outcome)
    record(f"pg_terminate_backend {when} the commit of the {case.name} save, through Pilot", 1,
           f"{'form kept with what was typed' if outcome.get('kept') else 'the save had answered; screen moved on'}"
           f"; {'saved again' if outcome.get('retried') else 'no second save needed'}; landed exactly once",
           group="fault")
