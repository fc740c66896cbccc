"""The sign-in screen driven with Pilot: success for every demo account, refusals shown under the form."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from textual.widgets import Input, OptionList, Static

from db.repositories.auth import INACTIVE, WRONG_CREDENTIALS
from screens.base import BackScreen
from screens.home import HomeScreen
from screens.sign_in import UNREACHABLE, SignInScreen
from tests.tui.conftest import DEMO, ROLE_OF, TODAY, build_app, run, settle
from widgets.figures import FigureTable


async def _type_and_submit(pilot, username: str, password: str, *, typed: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Fill the form and press enter in the password field; `typed` sends every character as a key."""
    screen = pilot.app.screen
    if typed:
        screen.query_one("#username", Input).value = ""
        screen.query_one("#username", Input).focus()
        await pilot.press(*username, "enter")
        await pilot.press(*password, "enter")
    else:
        screen.query_one("#username", Input).value = username
        screen.query_one("#password", Input).value = password
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
    await settle(pilot)


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#sign-in-status", Static).content)


@pytest.mark.parametrize("username", DEMO)
def test_each_demo_account_reaches_home(app_engine: Engine, access_log: Path, username: str) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.screen, SignInScreen)
            await _type_and_submit(pilot, username, f"{username}-demo", typed=True)
            assert isinstance(app.screen, HomeScreen)
            assert app.actor is not None and app.actor.role == ROLE_OF[username]
            assert len(app.screen_stack) == 2  # nothing left beneath home but the app's base

    run(scenario())


def test_wrong_password_and_unknown_user_read_the_same(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _type_and_submit(pilot, "cashier", "not-the-password")
            assert isinstance(app.screen, SignInScreen)
            assert _status(app) == WRONG_CREDENTIALS
            assert app.screen.query_one("#username", Input).value == "cashier"  # kept
            assert app.screen.query_one("#password", Input).value == ""  # cleared
            assert app.screen.focused is app.screen.query_one("#password", Input)

            await _type_and_submit(pilot, "nobody", "cashier-demo")
            assert _status(app) == WRONG_CREDENTIALS
            assert app.actor is None

    run(scenario())


def test_lockout_is_shown_and_holds_against_the_right_password(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(4):
                await _type_and_submit(pilot, "officer", "wrong")
                assert _status(app) == WRONG_CREDENTIALS
            await _type_and_submit(pilot, "officer", "wrong")
            assert "locked" in _status(app)
            await _type_and_submit(pilot, "officer", "officer-demo")
            assert "locked" in _status(app) and "until" in _status(app)
            assert isinstance(app.screen, SignInScreen) and app.actor is None

    run(scenario())


def test_inactive_account_is_told_so(app_engine: Engine, engine: Engine, access_log: Path) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE username = 'cashier'"))

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _type_and_submit(pilot, "cashier", "cashier-demo")
            assert _status(app) == INACTIVE
            assert isinstance(app.screen, SignInScreen)

    run(scenario())


def test_empty_fields_are_asked_for_without_a_database_call(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter", "enter")
            assert _status(app) == "Enter your username."
            await pilot.press(*"cashier", "enter", "enter")
            assert _status(app) == "Enter your password."
            assert not app.workers

    run(scenario())


def test_sign_in_button_and_markup_in_the_username(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            app.screen.query_one("#username", Input).value = "[b]x[/b]"
            app.screen.query_one("#password", Input).value = "whatever"
            await pilot.click("#sign-in")
            await settle(pilot)
            assert _status(app) == WRONG_CREDENTIALS

    run(scenario())


def test_demo_accounts_are_listed_only_in_the_demo_database(app_engine: Engine, access_log: Path) -> None:
    async def scenario(demo: bool) -> bool:
        app = build_app(app_engine, access_log, demo=demo)
        async with app.run_test(size=(80, 24)):
            return bool(app.screen.query("#demo-accounts"))

    assert run(scenario(True)) is True
    assert run(scenario(False)) is False


def test_escape_goes_back_and_sign_out_clears_the_stack(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _type_and_submit(pilot, "supervisor", "supervisor-demo")
            await pilot.press("f2")
            await pilot.pause()
            assert isinstance(app.screen, BackScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)

            await pilot.press("f2")
            await pilot.pause()
            await pilot.press("f7")
            await pilot.pause()
            assert len(app.screen_stack) == 4
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert isinstance(app.screen, SignInScreen)
            assert len(app.screen_stack) == 2 and app.actor is None
            assert app.screen.query_one("#username", Input).value == ""

    run(scenario())


def test_home_shows_the_roles_figures_and_screens(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _type_and_submit(pilot, "cashier", "cashier-demo")
            home = app.screen
            assert isinstance(home, HomeScreen)
            assert "Peter Mwangi" in str(home.query_one("#who-name", Static).content)
            assert "Monday 10 Mar 2025" in str(home.query_one("#who-day", Static).content)
            assert home.query_one("#glance-status").display is False
            assert home.query_one("#figures", FigureTable).rows == (
                ("Repayments today", "0"), ("Collected today", "KES 0.00"), ("Installments due today", "0"),
                ("Awaiting disbursement", "0"))

            options = home.query_one("#screens", OptionList)
            assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
                "customer_lookup", "payment_entry", "loan_detail", "collection_sheet"]
            await pilot.press("down", "enter")
            await pilot.pause()
            assert isinstance(app.screen, BackScreen) and app.screen.screen_name == "payment_entry"

    run(scenario())


def test_low_bandwidth_app_is_quiet(app_engine: Engine, access_log: Path) -> None:
    from astrofin_tui.app import AstrofinApp

    async def scenario() -> None:
        app = AstrofinApp(app_engine, today=lambda: TODAY, low_bandwidth=True, access_log=access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.theme == "ansi-dark" and app.animation_level == "none"
            username = app.screen.query_one("#username", Input)
            assert app.screen.focused is username and username.cursor_blink is False

    run(scenario())


def test_a_lost_database_is_said_plainly_and_the_form_stays(pg_server, access_log: Path) -> None:  # type: ignore[no-untyped-def]
    from db.engine import make_engine

    gone = make_engine(pg_server.url("no_such_database"))

    async def scenario() -> None:
        app = build_app(gone, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _type_and_submit(pilot, "cashier", "cashier-demo")
            assert _status(app) == UNREACHABLE
            assert app.screen.query_one("#username", Input).value == "cashier"
            await _type_and_submit(pilot, "cashier", "cashier-demo")  # the form still answers
            assert _status(app) == UNREACHABLE

    try:
        run(scenario())
    finally:
        gone.dispose()
