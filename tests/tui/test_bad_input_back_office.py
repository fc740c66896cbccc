"""Hypothesis input to the back office's fields, through Pilot: the accounting filters and the new-account
form, the admin's user form and audit filters, and the SMS template editor.

For every value: the screen stays up, the field keeps what was typed, a refusal writes nothing (row counts
of the eleven tables) and shows a message, an accepted save adds exactly its row, and what was typed is
shown literally. One app per test, many examples in it (tests/reliability/pilotlib.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TabbedContent, Tabs, TextArea

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from screens.accounting import AccountForm, AccountingScreen
from screens.admin import AdminScreen
from screens.admin_templates import TemplatesPane
from screens.admin_users import UserForm
from tests.reliability.pilotlib import HOSTILE, LiveApp, campaign_settings, counts, put, shown, tally
from tests.tui.back_office_data import settings_for, target_for
from tests.tui.conftest import build_app, settle
from widgets.fields import FieldRow
from widgets.status import StatusLine


def _app(app_engine: Engine, access_log: Path, db_url: URL, backups: Path) -> AstrofinApp:
    app = build_app(app_engine, access_log)
    app.target = target_for(db_url)
    app.settings = settings_for(backups)
    return app


async def _enter(pilot: Pilot[Any], actor: Actor, key: str) -> None:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)


async def _tab(pilot: Pilot[Any], tabs_id: str, pane: str) -> None:
    tabs = pilot.app.screen.query_one(tabs_id, TabbedContent)
    tabs.query_one(Tabs).focus()
    tabs.active = pane
    await settle(pilot)


async def until_saved(pilot: Pilot[Any], form: Any) -> None:
    """Wait until the form's save has come back (refused, or the form closed)."""
    for _ in range(200):
        await settle(pilot)
        if pilot.app.screen is not form or not form.busy("save"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the save never came back")


ACCOUNTING_FILTERS = {"journal-from": "tab-journal", "journal-to": "tab-journal", "journal-account": "tab-journal",
                      "journal-txn": "tab-journal", "trial-day": "tab-trial", "daily-from": "tab-daily",
                      "daily-to": "tab-daily"}


def test_accounting_filters_and_new_account_form(app_engine: Engine, engine: Engine, access_log: Path,
                                                 actors: dict[str, Actor], db_url: URL, tmp_path: Path) -> None:
    app = _app(app_engine, access_log, db_url, tmp_path / "backups")
    with LiveApp(app) as live:
        live.run(lambda pilot: _enter(pilot, actors["accountant"], "f8"))
        assert isinstance(app.screen, AccountingScreen)
        with tally("accounting: journal from/to/account/transaction, trial balance day, daily from/to") as seen:
            before = counts(engine)

            @campaign_settings(10)
            @given(field=st.sampled_from(list(ACCOUNTING_FILTERS)), value=HOSTILE)
            def one(field: str, value: str) -> None:
                async def step(pilot: Pilot[Any]) -> str:
                    screen = pilot.app.screen
                    assert isinstance(screen, AccountingScreen)
                    await _tab(pilot, "#books", ACCOUNTING_FILTERS[field])
                    held = await put(pilot, f"#{field}", value)
                    await pilot.press("enter")
                    await settle(pilot)
                    assert pilot.app.screen is screen
                    assert screen.query_one(f"#{field}", Input).value == held
                    return "tried"

                seen[live.run(step)] = seen.get("tried", 0) + 1
                live.alive()

            one()
            assert counts(engine) == before

        async def open_form(pilot: Pilot[Any]) -> None:
            await _tab(pilot, "#books", "tab-chart")
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(pilot.app.screen, AccountForm)

        live.run(open_form)
        with tally("accounting: new account form (code, name, parent)") as seen:
            @campaign_settings(10)
            @given(field=st.sampled_from(["account-code", "account-name", "account-parent"]), value=HOSTILE)
            def account(field: str, value: str) -> None:
                before = counts(engine)

                async def step(pilot: Pilot[Any]) -> str:
                    if not isinstance(pilot.app.screen, AccountForm):
                        await open_form(pilot)
                    form = pilot.app.screen
                    good = {"account-code": "1999", "account-name": "Petty cash two", "account-parent": ""}
                    for name, text_ in good.items():
                        form.query_one(f"#{name}", Input).value = text_
                    held = await put(pilot, f"#{field}", value)
                    await pilot.press("ctrl+s")
                    await until_saved(pilot, form)
                    if pilot.app.screen is form:
                        assert form.query_one(f"#{field}", Input).value == held
                        messages = [row.message for row in form.query(FieldRow) if row.message.strip()]
                        assert messages or form.query_one("#status", StatusLine).has_class("-error"), held
                        return "refused"
                    await open_form(pilot)
                    return "accepted"

                outcome = live.run(step)
                live.alive()
                after = counts(engine)
                expected = before["chart_of_accounts"] + (1 if outcome == "accepted" else 0)
                assert after["chart_of_accounts"] == expected, (field, value, outcome)
                if outcome == "refused":
                    assert after == before
                seen[outcome] = seen.get(outcome, 0) + 1

            account()


USER_GOOD = {"user-username": "new.teller", "user-full-name": "New Teller", "user-password": "counter-pass-1",
             "user-confirm": "counter-pass-1"}


def test_admin_user_form_audit_filters_and_template_editor(app_engine: Engine, engine: Engine, access_log: Path,
                                                           actors: dict[str, Actor], db_url: URL,
                                                           tmp_path: Path) -> None:
    app = _app(app_engine, access_log, db_url, tmp_path / "backups")
    serial = iter(range(10_000))

    async def open_form(pilot: Pilot[Any]) -> None:
        await _tab(pilot, "#admin", "tab-users")
        pilot.app.screen.query_one("#users").focus()
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(pilot.app.screen, UserForm)

    with LiveApp(app) as live:
        live.run(lambda pilot: _enter(pilot, actors["admin"], "f12"))
        live.run(open_form)
        with tally("admin: new user form (username, full name, password, again)") as seen:
            @campaign_settings(12)
            @given(field=st.sampled_from(list(USER_GOOD)), value=HOSTILE)
            def user(field: str, value: str) -> None:
                before = counts(engine)

                async def step(pilot: Pilot[Any]) -> str:
                    if not isinstance(pilot.app.screen, UserForm):
                        await open_form(pilot)
                    form = pilot.app.screen
                    good = dict(USER_GOOD, **{"user-username": f"new.teller{next(serial)}"})
                    for name, text_ in good.items():
                        form.query_one(f"#{name}", Input).value = text_
                    form.query_one("#user-role", Select).value = "cashier"
                    held = await put(pilot, f"#{field}", value)
                    if field == "user-password":  # the same value again, so the password itself is tried
                        form.query_one("#user-confirm", Input).value = held
                    await pilot.press("ctrl+s")
                    await until_saved(pilot, form)
                    if pilot.app.screen is form:
                        assert form.query_one(f"#{field}", Input).value == held
                        assert any(row.message.strip() for row in form.query(FieldRow)) or form.query_one(
                            "#status", StatusLine).has_class("-error"), held
                        return "refused"
                    assert isinstance(pilot.app.screen, AdminScreen)
                    await open_form(pilot)
                    return "accepted"

                outcome = live.run(step)
                live.alive()
                after = counts(engine)
                assert after["users"] == before["users"] + (1 if outcome == "accepted" else 0), (field, value)
                if outcome == "refused":
                    assert after == before
                seen[outcome] = seen.get(outcome, 0) + 1

            user()

        async def close_form(pilot: Pilot[Any]) -> None:
            if isinstance(pilot.app.screen, UserForm):
                await pilot.press("escape")
                await settle(pilot)
            await _tab(pilot, "#admin", "tab-audit")

        live.run(close_form)
        with tally("admin: audit filters (user, record, from, to)") as seen:
            before = counts(engine)

            @campaign_settings(10)
            @given(field=st.sampled_from(["audit-user", "audit-record", "audit-from", "audit-to"]), value=HOSTILE)
            def audit(field: str, value: str) -> None:
                async def step(pilot: Pilot[Any]) -> None:
                    screen = pilot.app.screen
                    assert isinstance(screen, AdminScreen)
                    held = await put(pilot, f"#{field}", value)
                    await pilot.press("enter")
                    await settle(pilot)
                    assert pilot.app.screen is screen
                    assert screen.query_one(f"#{field}", Input).value == held

                live.run(step)
                live.alive()
                seen["tried"] = seen.get("tried", 0) + 1

            audit()
            # Reading the audit log writes nothing (the audit log counts too).
            assert counts(engine) == before

        async def templates(pilot: Pilot[Any]) -> None:
            await _tab(pilot, "#admin", "tab-templates")
            pane = pilot.app.screen.query_one(TemplatesPane)
            pane._edit(next(t for t in pane.templates if t.name == "overdue_reminder"))
            await settle(pilot)

        live.run(templates)
        with tally("admin: SMS template text") as seen:
            @campaign_settings(10)
            @given(value=HOSTILE)
            def template(value: str) -> None:
                before = counts(engine)

                async def step(pilot: Pilot[Any]) -> str:
                    screen = pilot.app.screen
                    editor = screen.query_one("#template-text", TextArea)
                    editor.load_text(value)
                    editor.focus()
                    await pilot.pause()
                    await pilot.press("ctrl+s")
                    await settle(pilot)
                    assert pilot.app.screen is screen
                    error = shown(screen.query_one("#template-error", Static))
                    status = shown(screen.query_one("#template-status", Static))
                    return "refused" if error.strip() or "Not saved" in status else "accepted"

                outcome = live.run(step)
                live.alive()
                after = counts(engine)
                if outcome == "refused":
                    assert after == before, value
                else:  # an edit: one audit row, no new template
                    assert after["sms_templates"] == before["sms_templates"]
                seen[outcome] = seen.get(outcome, 0) + 1

            template()
