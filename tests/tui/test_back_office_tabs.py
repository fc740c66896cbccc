"""Keys that switch tabs in accounting and administration: what a terminal sends for them reaches the app as
those keys (read by Textual's own terminal parser), they work with the cursor in a field without typing into
it, they go round, and the footer shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from textual import events
from textual._xterm_parser import XTermParser
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from screens.accounting import AccountingScreen
from screens.admin import AdminScreen
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import build_app, run, settle


def _keys(sent: str) -> list[events.Key]:
    parser = XTermParser()
    return [e for e in [*parser.feed(sent), *parser.feed("")] if isinstance(e, events.Key)]


@pytest.mark.parametrize(("sent", "key"), [("\x1bn", "alt+n"), ("\x1bp", "alt+p"), ("\x1b[6;5~", "ctrl+pagedown"),
                                           ("\x1b[5;5~", "ctrl+pageup")])
def test_what_a_terminal_sends_arrives_as_the_tab_keys(sent: str, key: str) -> None:
    assert [k.key for k in _keys(sent)] == [key]


def test_alt_and_a_digit_never_arrives_as_a_key() -> None:
    """Why alt+1…9 are not offered: ESC then a digit is read as the character macOS would type."""
    assert [k.key for k in _keys("\x1b1")] != ["alt+1"]


async def _send(pilot: Pilot[Any], sent: str) -> None:
    """Bytes as the terminal sends them, parsed as the app's driver parses them."""
    driver = pilot.app._driver
    assert driver is not None
    for key in _keys(sent):
        key.set_sender(pilot.app)
        driver.send_message(key)  # as Pilot sends the keys it presses
    await settle(pilot)


def _footer_keys(app: AstrofinApp) -> set[str]:
    return {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}


def test_accounting_tabs_switch_from_the_keyboard(app_engine: Engine, access_log: Path,
                                                  actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.sign_in_as(actors["accountant"])
            await settle(pilot)
            await pilot.press("f8")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AccountingScreen)
            tabs = screen.query_one("#books", TabbedContent)
            assert "alt+n" in _footer_keys(app)

            seen = []
            for _ in range(4):
                await pilot.press("alt+n")
                await settle(pilot)
                seen.append((tabs.active, app.focused.id if app.focused else None))
            assert seen == [("tab-journal", "journal"), ("tab-trial", "trial"), ("tab-daily", "daily"),
                            ("tab-chart", "chart")]
            await pilot.press("alt+p")
            await settle(pilot)
            assert tabs.active == "tab-daily"
            await pilot.press("ctrl+pagedown")
            await settle(pilot)
            assert tabs.active == "tab-chart"
            await pilot.press("ctrl+pageup", "ctrl+pageup")
            await settle(pilot)
            assert tabs.active == "tab-trial"

            # With the cursor in a field, the bytes a terminal sends switch the tab and type nothing.
            day = screen.query_one("#trial-day", Input)
            day.focus()
            before = day.value
            await _send(pilot, "\x1bp")
            assert (tabs.active, day.value) == ("tab-journal", before)
            await _send(pilot, "\x1b[6;5~")
            assert tabs.active == "tab-trial" and day.value == before

    run(scenario())


def test_administration_tabs_switch_from_the_keyboard_into_each_pane(
        app_engine: Engine, access_log: Path, actors: dict[str, Actor], db_url: URL, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        app.target = target_for(db_url)
        app.settings = settings_for(tmp_path / "backups")
        async with app.run_test(size=(80, 24)) as pilot:
            await app.sign_in_as(actors["admin"])
            await settle(pilot)
            await pilot.press("f12")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AdminScreen)
            tabs = screen.query_one("#admin", TabbedContent)
            assert "alt+n" in _footer_keys(app)
            seen = []
            for _ in range(6):
                await pilot.press("alt+n")
                await settle(pilot)
                seen.append((tabs.active, app.focused.id if app.focused else None))
            assert seen == [("tab-products", "products"), ("tab-templates", "template-list"), ("tab-sms", "sms"),
                            ("tab-audit", "audit"), ("tab-backup", "backups"), ("tab-users", "users")]
            await pilot.press("ctrl+pageup")
            await settle(pilot)
            assert tabs.active == "tab-backup"
            # The pane's own keys work at once: the footer shows the backup keys.
            assert "b" in _footer_keys(app)

            # From the template editor, the tab key is not typed into the template.
            await pilot.press("ctrl+pageup", "ctrl+pageup", "ctrl+pageup")
            await settle(pilot)
            assert tabs.active == "tab-templates"
            editor = screen.query_one("#template-text")
            editor.focus()
            await settle(pilot)
            assert app.focused is editor
            text = editor.text  # type: ignore[attr-defined]
            await _send(pilot, "\x1bn")
            assert (tabs.active, editor.text) == ("tab-sms", text)  # type: ignore[attr-defined]

    run(scenario())
