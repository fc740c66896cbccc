"""Reports for the loan officer, supervisor and accountant: the PAR on screen is calculate_par's for the
day, the aging buckets hold every loan, the monthly summary is recomputed on demand by those allowed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent, Tabs

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from screens.reports import ReportsScreen
from tests.tui.back_office_data import make_book
from tests.tui.conftest import TODAY, build_app, run, settle


async def _open(pilot: Pilot[Any], actor: Actor) -> ReportsScreen:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    await pilot.press("f9")
    await settle(pilot)
    assert isinstance(app.screen, ReportsScreen)
    return app.screen


@pytest.mark.parametrize("username", ["officer", "supervisor", "accountant"])
def test_par_on_screen_is_calculate_par_for_the_day(
    app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], username: str
) -> None:
    make_book(engine, actors)
    with engine.connect() as conn:
        expected = conn.execute(text("SELECT calculate_par(1, :d), calculate_par(30, :d), calculate_par(90, :d)"),
                                {"d": TODAY}).one()

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await _open(pilot, actors[username])
            assert screen.par is not None
            assert (screen.par.par1, screen.par.par30, screen.par.par90) == tuple(expected)
            assert expected[1] > 0
            shown = str(screen.query_one("#par-figures", Static).render())
            assert f"PAR30 {expected[1]:.2f} %" in shown and "on 10 Mar 2025" in shown
            assert len(screen.trend) == 12 and screen.trend[-1].as_of == TODAY

            # Aging: every active loan in one bucket, amounts adding up.
            assert sum(b.loans for b in screen.aging) == 3
            by_label = {b.label: b for b in screen.aging}
            assert by_label["31-60"].loans == 1 and by_label["91-180"].loans == 1 and by_label["current"].loans == 1

            # Monthly summary: recomputed only by the supervisor and the accountant.
            tabs = screen.query_one("#reports", TabbedContent)
            tabs.query_one(Tabs).focus()
            tabs.active = "tab-monthly"
            await settle(pilot)
            may = username != "officer"
            shown_keys = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show}
            assert ("refresh_summary" in shown_keys) is may
            await pilot.press("ctrl+u")
            await settle(pilot)
            if may:
                disbursed = sum((m.disbursed for m in screen.months), Decimal("0"))
                assert disbursed == Decimal("35000.00")
            else:
                assert screen.months == []

    run(scenario())
