"""Passwords from the screen: after an administrator's reset the next sign-in asks for a new password (and
cannot be skipped); anyone signed in changes their own from the palette."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Input

from db.engine import Actor
from db.repositories.auth import authenticate
from db.repositories.users import UserRepository
from screens.change_password import ChangePasswordScreen
from screens.home import HomeScreen
from screens.sign_in import SignInScreen
from tests.tui.conftest import build_app, run, settle


async def _sign_in(pilot, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    screen.query_one("#username", Input).value = ""
    screen.query_one("#username", Input).focus()
    await pilot.press(*username, "tab", *password, "enter")
    await settle(pilot)


async def _type(pilot, *values: str) -> None:  # type: ignore[no-untyped-def]
    for value in values:
        await pilot.press(*value, "enter")
    await settle(pilot)


def test_a_reset_password_is_replaced_at_the_next_sign_in(app_engine: Engine, access_log: Path,
                                                            actors: dict[str, Actor]) -> None:
    UserRepository(app_engine, actors["admin"]).reset_password(actors["cashier"].user_id, "given-by-admin",
                                                                "given-by-admin")

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _sign_in(pilot, "cashier", "given-by-admin")
            assert isinstance(app.screen, ChangePasswordScreen) and app.actor is None
            await pilot.press("escape")  # cannot be skipped: back to the sign-in form, not home
            await settle(pilot)
            assert isinstance(app.screen, SignInScreen) and app.actor is None
            assert "new password" in app.screen.status.text

            await _sign_in(pilot, "cashier", "given-by-admin")
            screen = app.screen
            assert isinstance(screen, ChangePasswordScreen)
            await _type(pilot, "given-by-admin", "short", "short")  # refused beside the field, nothing saved
            assert isinstance(app.screen, ChangePasswordScreen)
            assert "at least" in screen.query_one("#field-new_password").message
            screen.query_one("#new_password", Input).focus()
            await _type(pilot, "my-own-secret", "my-own-secret")
            assert isinstance(app.screen, HomeScreen)
            assert app.actor is not None and not app.actor.must_change_password

    run(scenario())
    assert not authenticate(app_engine, "cashier", "my-own-secret").must_change_password


def test_anyone_changes_their_own_password_from_the_palette(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await _sign_in(pilot, "officer", "officer-demo")
            assert isinstance(app.screen, HomeScreen)
            app.action_change_password()
            await settle(pilot)
            assert isinstance(app.screen, ChangePasswordScreen)
            await _type(pilot, "wrong-one-here", "officer-new-pw", "officer-new-pw")
            assert isinstance(app.screen, ChangePasswordScreen)
            assert "not right" in app.screen.query_one("#field-current_password").message
            app.screen.query_one("#current_password", Input).focus()
            await _type(pilot, "officer-demo", "officer-new-pw", "officer-new-pw")
            assert isinstance(app.screen, HomeScreen)

    run(scenario())
    assert authenticate(app_engine, "officer", "officer-new-pw").username == "officer"
