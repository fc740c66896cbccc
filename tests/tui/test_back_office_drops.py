"""The back office on the one database path, through Pilot: with the database out of reach each screen
(accounting, reports, administration) and each form it opens shows the connection banner and keeps what was
typed; reads come back by themselves once the database answers, saves wait for the person; and a refusal
is shown as the refusal it is, never as a lost connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import Input, Select, TabbedContent

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from screens.accounting import AccountForm, AccountingScreen
from screens.admin import AdminScreen
from screens.admin_users import UserForm, UsersPane
from screens.confirm import ConfirmScreen
from screens.data import DatabaseCalls
from screens.reports import ReportsScreen
from tests.tui.back_office_data import make_book, settings_for, target_for
from tests.tui.conftest import run, settle
from tests.tui.front import count, front_app, press, sign_in, type_into
from tests.tui.test_front_payments import Outage
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner, StatusLine

WAITING = "Waiting for the database"


@pytest.fixture
def outage(app_engine: Engine, tmp_path: Path) -> Iterator[Outage]:
    yield Outage(app_engine, tmp_path / "no-server-here")


def _app(app_engine: Engine, access_log: Path, db_url: URL, tmp_path: Path) -> AstrofinApp:
    app = front_app(app_engine, access_log, retry_seconds=3600.0)  # the probe runs when the test says so
    app.target = target_for(db_url)
    app.settings = settings_for(tmp_path / "backups")
    return app


def _lost(screen: DatabaseCalls) -> bool:
    """The banner is up and the status line says what the screen waits for."""
    return (screen.query_one(ConnectionBanner).shown and screen.connection_lost
            and WAITING in screen.status.text)


async def _back(pilot: Pilot[Any], outage: Outage, screen: DatabaseCalls) -> None:
    """The database answers again and the screen's probe (its timer's tick) finds it."""
    outage.end()
    screen._probe()
    await settle(pilot)
    await settle(pilot)
    assert not screen.query_one(ConnectionBanner).shown and not screen.connection_lost


def _refusal_shown(screen: DatabaseCalls, line: StatusLine, words: str) -> None:
    assert words in line.text and line.has_class("-error"), line.text
    assert not screen.query_one(ConnectionBanner).shown and not screen.connection_lost
    assert WAITING not in screen.status.text and "reach" not in line.text


def test_accounting_keeps_the_filter_and_the_new_account_through_a_lost_connection(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL,
        tmp_path: Path, outage: Outage) -> None:
    book = make_book(engine, actors)
    txn = str(book.receipt.transaction_id)

    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors["accountant"])
            await press(pilot, "f8")
            screen = app.screen
            assert isinstance(screen, AccountingScreen)
            await press(pilot, "alt+n")
            await type_into(pilot, "#journal-txn", txn)

            # A read: the banner, the filter kept, and the journal by itself once the database is back.
            outage.start()
            await press(pilot, "enter")
            assert _lost(screen)
            assert screen.query_one("#journal-txn", Input).value == txn
            await _back(pilot, outage, screen)
            assert [e.transaction_id for e in screen.entries] == [book.receipt.transaction_id]
            assert "1 entries" in screen.query_one("#journal-status", StatusLine).text

            # A save: the form stays with what was typed and waits for the person to save again.
            await press(pilot, "alt+p", "ctrl+n")
            form = app.screen
            assert isinstance(form, AccountForm)
            await type_into(pilot, "#account-code", "1020")
            await type_into(pilot, "#account-name", "Till two")
            outage.start()
            await press(pilot, "ctrl+s")
            assert app.screen is form and _lost(form)
            assert form.query_one("#account-code", Input).value == "1020"
            assert form.query_one("#account-name", Input).value == "Till two"
            assert count(engine, "SELECT count(*) FROM chart_of_accounts WHERE account_code = '1020'") == 0
            await _back(pilot, outage, form)
            assert app.screen is form and form.status.text == form.RESTORED_ASK  # not saved by itself
            assert count(engine, "SELECT count(*) FROM chart_of_accounts WHERE account_code = '1020'") == 0

            # A refusal is a refusal: beside its field, no banner.
            await type_into(pilot, "#account-parent", "9999")
            await press(pilot, "ctrl+s")
            assert app.screen is form
            assert "there is no account 9999" in form.query_one("#field-parent", FieldRow).message
            assert not form.query_one(ConnectionBanner).shown and WAITING not in form.status.text
            await type_into(pilot, "#account-parent", "1000")
            await press(pilot, "ctrl+s")
            assert app.screen is screen
            assert count(engine, "SELECT count(*) FROM chart_of_accounts WHERE account_code = '1020'") == 1

            # The supervisor may not write: the database's refusal is shown as such.
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f8")
            screen = app.screen
            assert isinstance(screen, AccountingScreen)
            screen.writable = True  # as if the screen offered the key: the database still refuses
            screen.query_one("#chart").focus()
            while (chosen := screen._chosen_account()) is None or chosen.account_code == "1000":
                await press(pilot, "down")  # past the "Assets" heading and the cash account the app keeps
            await press(pilot, "ctrl+t")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            _refusal_shown(screen, screen.query_one("#chart-status", StatusLine), "Your role may not do this")

    run(scenario())


def test_reports_come_back_by_themselves_and_a_refused_recompute_says_so(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL,
        tmp_path: Path, outage: Outage) -> None:
    make_book(engine, actors)

    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f9")
            screen = app.screen
            assert isinstance(screen, ReportsScreen) and screen.par is not None
            screen.par, screen.aging = None, []
            outage.start()
            await press(pilot, "ctrl+r")
            assert _lost(screen) and screen.par is None
            await _back(pilot, outage, screen)
            assert screen.par is not None and sum(b.loans for b in screen.aging) == 3

            # The officer may not recompute the summary; forced, the database's refusal is shown as one.
            screen.query_one("#reports", TabbedContent).active = "tab-monthly"
            await settle(pilot)
            screen.may_refresh = True
            await press(pilot, "ctrl+u")
            _refusal_shown(screen, screen.query_one("#monthly-status", StatusLine), "Your role may not do this")

    run(scenario())


def test_administration_keeps_the_new_user_form_and_shows_a_refusal_as_one(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL,
        tmp_path: Path, outage: Outage) -> None:
    async def scenario() -> None:
        app = _app(app_engine, access_log, db_url, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors["admin"])
            await press(pilot, "f12")
            screen = app.screen
            assert isinstance(screen, AdminScreen)
            pane = screen.query_one(UsersPane)

            # A read: the list comes back by itself.
            pane.members = []
            outage.start()
            await press(pilot, "ctrl+r")
            assert _lost(screen)
            await _back(pilot, outage, screen)
            assert any(m.username == "admin" for m in pane.members)

            # A save in the form: kept, banner, nothing saved until the person saves again.
            await press(pilot, "n")
            form = app.screen
            assert isinstance(form, UserForm)
            await type_into(pilot, "#user-username", "drop.teller")
            await type_into(pilot, "#user-full-name", "Drop Teller")
            form.query_one("#user-role", Select).value = "cashier"
            await type_into(pilot, "#user-password", "counter-pass-1")
            await type_into(pilot, "#user-confirm", "counter-pass-1")
            outage.start()
            await press(pilot, "ctrl+s")
            assert app.screen is form and _lost(form)
            assert form.query_one("#user-username", Input).value == "drop.teller"
            assert form.query_one("#user-password", Input).value == "counter-pass-1"
            await _back(pilot, outage, form)
            assert app.screen is form
            assert count(engine, "SELECT count(*) FROM users WHERE username = 'drop.teller'") == 0
            await press(pilot, "ctrl+s")
            assert app.screen is screen
            assert count(engine, "SELECT count(*) FROM users WHERE username = 'drop.teller'") == 1

            # A refusal: the admin cannot lock their own account; said as it is, no banner.
            table = screen.query_one("#users")
            table.move_cursor(row=next(i for i, m in enumerate(pane.members) if m.username == "admin"))  # type: ignore[attr-defined]
            await press(pilot, "l")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            _refusal_shown(screen, screen.query_one("#users-status", StatusLine),
                           "cannot lock, deactivate or demote your own")

    run(scenario())
