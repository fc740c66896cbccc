"""The collection sheet at 80×24 with thirty rows: the picked group, a page of rows, one paid in full, one absent,
one part, one refused on its row, the totals and the keys; the day and theme pinned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from textual.pilot import Pilot

from tests.groups.sheet_book import build_meeting
from tests.groups.test_sheet_screen import open_sheet, sheet_app, type_amount
from tests.tui.conftest import settle


def test_a_loaded_sheet_at_80x24(snap_compare: Callable[..., bool], engine: Engine, app_engine: Engine,
                                 tmp_path: Path) -> None:
    branch = build_meeting(engine, app_engine)

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_sheet(pilot, branch, "cashier")
        await pilot.press("ctrl+f", "ctrl+n")
        await type_amount(pilot, screen, 2, "1,250.5")
        await type_amount(pilot, screen, 3, "12a")
        await settle(pilot)

    assert snap_compare(sheet_app(app_engine, tmp_path), terminal_size=(80, 24), run_before=run_before)
