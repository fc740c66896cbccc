"""Snapshots at 80×24 (and one wide size): sign-in, a refused sign-in, and home for each role.

The clock, theme and cursor are pinned by build_app; the figures come from a fresh seeded database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import Input

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from tests.tui.conftest import DEMO, build_app, settle

SnapCompare = Callable[..., bool]


def _signed_in_as(actor: Actor) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AstrofinApp)
        await app.sign_in_as(actor)
        await settle(pilot)

    return run_before


def test_sign_in(snap_compare: SnapCompare, app_engine: Engine, access_log: Path) -> None:
    assert snap_compare(build_app(app_engine, access_log), terminal_size=(80, 24))


def test_sign_in_refused(snap_compare: SnapCompare, app_engine: Engine, access_log: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#username", Input).value = "cashier"
        pilot.app.screen.query_one("#password", Input).value = "wrong password"
        pilot.app.screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(build_app(app_engine, access_log), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("username", DEMO)
def test_home(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
              username: str) -> None:
    app = build_app(app_engine, access_log)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_signed_in_as(actors[username]))


def test_home_wide(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    app = build_app(app_engine, access_log)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_signed_in_as(actors["supervisor"]))
