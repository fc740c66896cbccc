"""Snapshots of every back office screen and tab at 80×24 and 120×40, on fixed data (three loans and a
payment on fixed days, audit times pinned, two SMS messages), with the pinned clock and theme."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from textual.pilot import Pilot
from textual.widgets import TabbedContent, Tabs

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.auth import with_branch
from tests.tui.back_office_data import FIXED_AUDIT_TIME, make_book, pin_audit_times, settings_for, target_for
from tests.tui.conftest import build_app, settle

SnapCompare = Callable[..., bool]
NO_BACKUPS = Path("/tmp/astrofin-snapshots/no-backups")  # never created: the list is empty on every run

# (who, key, tab, widget that has the cursor)
VIEWS = {
    "accounting-chart": ("accountant", "f8", "tab-chart", "#chart"),
    "accounting-chart-supervisor": ("supervisor", "f8", "tab-chart", "#chart"),
    "accounting-journal": ("accountant", "f8", "tab-journal", "#journal"),
    "accounting-trial": ("accountant", "f8", "tab-trial", "#trial"),
    "accounting-daily": ("accountant", "f8", "tab-daily", "#daily"),
    "reports-par": ("supervisor", "f9", "tab-par", None),
    "reports-aging": ("officer", "f9", "tab-aging", "#aging"),
    "reports-monthly": ("accountant", "f9", "tab-monthly", "#monthly"),
    "reports-penalties": ("accountant", "f9", "tab-penalties", "#penalties-table"),
    "admin-users": ("admin", "f12", "tab-users", "#users"),
    "admin-templates": ("admin", "f12", "tab-templates", "#template-list"),
    "admin-sms": ("admin", "f12", "tab-sms", "#sms"),
    "admin-audit": ("admin", "f12", "tab-audit", "#audit"),
    "admin-backup": ("admin", "f12", "tab-backup", "#backups"),
}
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def _fixed_data(engine: Engine, actors: dict[str, Actor]) -> None:
    make_book(engine, actors)
    with engine.begin() as conn:
        conn.execute(text("SELECT refresh_monthly_financial_summary()"))
        conn.execute(text("""
            INSERT INTO sms_histories (phone_number, message, status, error_message, attempts, created_at)
            VALUES ('+254711000001', 'Dear Achieng, your loan L-000001 is 36 days overdue.', 'failed',
                    'gateway refused: invalid sender id', 3, CAST(:t AS timestamptz)),
                   ('+254711000002', 'Dear Baraka, your loan L-000002 is 159 days overdue.', 'sent', NULL, 1,
                    CAST(:t AS timestamptz))
        """), {"t": FIXED_AUDIT_TIME})
    pin_audit_times(engine)


def _view(actor: Actor, key: str, tab: str, focus: str | None) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AstrofinApp)
        await app.sign_in_as(actor)
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent)
        tabs.query_one(Tabs).focus()
        tabs.active = tab
        await settle(pilot)
        if focus:
            app.screen.query_one(focus).focus()
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", VIEWS)
def test_back_office(snap_compare: SnapCompare, app_engine: Engine, engine: Engine, access_log: Path,
                     actors: dict[str, Actor], db_url: URL, view: str, size: str) -> None:
    _fixed_data(engine, actors)
    who, key, tab, focus = VIEWS[view]
    app = build_app(app_engine, access_log)
    app.target = target_for(db_url)
    app.settings = settings_for(NO_BACKUPS)
    # The staff member as sign-in makes them: with their branch (the head office), which the header names.
    actor = with_branch(engine, actors[who])
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_view(actor, key, tab, focus))
