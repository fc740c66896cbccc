"""The branch selector on the reports and the overdue queue, driven as staff drive them: the figures follow
the branch chosen and "and below"; a loan officer's queue has their loans first, or only theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import Checkbox, Select, Static

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.auth import authenticate
from db.repositories.reports import ReportRepository
from screens.overdue_queue import OverdueQueueScreen
from screens.reports import ReportsScreen
from tests.repositories.branch_book import make_branch_book
from tests.tui.conftest import TODAY, build_app, run, settle
from widgets.branch_picker import BranchPicker
from widgets.tables import PageTable


async def _open(pilot: Pilot[Any], actor: Actor, key: str) -> Any:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    return app.screen


async def _choose(pilot: Pilot[Any], picker: BranchPicker, branch_id: int | None) -> None:
    picker.query_one("#branch-choice", Select).value = branch_id if branch_id is not None else Select.NULL
    await settle(pilot)


def test_reports_follow_the_branch_chosen(app_engine: Engine, engine: Engine, access_log: Path,
                                          actors: dict[str, Actor]) -> None:
    book = make_branch_book(engine, actors, TODAY)
    head = authenticate(engine, "supervisor", "supervisor-demo")
    nairobi, hq = book.branches["NRB01"], book.branches["HQ"]
    reports = ReportRepository(engine, head)
    expected = {scope: reports.par(TODAY, branch_id=branch, with_children=below)
                for scope, (branch, below) in {"hq": (hq, True), "nairobi": (nairobi, True),
                                               "nairobi alone": (nairobi, False)}.items()}
    assert expected["nairobi"] != expected["nairobi alone"]

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open(pilot, head, "f9")
            assert isinstance(screen, ReportsScreen)
            picker = screen.query_one("#branch", BranchPicker)
            # Head office: its own branch and all below it, the consolidated figures.
            assert picker.choice == (hq, True)
            assert picker.query_one("#branch-choice", Select).value == hq
            assert screen.par == expected["hq"] and sum(b.loans for b in screen.aging) == 4
            assert "AstroFinance · HQ Head Office" in app.title

            await _choose(pilot, picker, nairobi)
            assert screen.par == expected["nairobi"] and sum(b.loans for b in screen.aging) == 3
            assert screen.trend[-1] == expected["nairobi"]

            picker.query_one("#branch-below", Checkbox).focus()
            await pilot.press("space")
            await settle(pilot)
            assert picker.choice == (nairobi, False)
            assert screen.par == expected["nairobi alone"] and sum(b.loans for b in screen.aging) == 2
            shown = str(screen.query_one("#par-figures", Static).render())
            assert f"PAR30 {expected['nairobi alone'].par30:.2f} %" in shown

    run(scenario())


def test_overdue_queue_by_branch_and_only_mine(app_engine: Engine, engine: Engine, access_log: Path,
                                               actors: dict[str, Actor]) -> None:
    book = make_branch_book(engine, actors, TODAY)
    officer = authenticate(engine, "officer.nrb", "officer-demo")
    numbers = {name: loan.loan_number for name, loan in book.loans.items()}

    def shown(screen: OverdueQueueScreen) -> list[str]:
        table = screen.query_one("#queue", PageTable)
        return [str(table.get_row_at(row)[1]) for row in range(table.row_count)]

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open(pilot, officer, "f4")
            assert isinstance(screen, OverdueQueueScreen)
            # Nairobi with Westlands below it; the officer's own loan first, though it is the less late.
            assert shown(screen) == [numbers["nrb_late"], numbers["wst_late"]]
            assert "your loans first" in str(screen.query_one("#paging", Static).render())

            screen.query_one("#mine", Checkbox).focus()
            await pilot.press("space")
            await settle(pilot)
            assert shown(screen) == [numbers["nrb_late"]]
            assert "only your loans" in str(screen.query_one("#paging", Static).render())
            await pilot.press("space")
            await settle(pilot)

            picker = screen.query_one("#branch", BranchPicker)
            await _choose(pilot, picker, book.branches["NRB02"])
            assert shown(screen) == [numbers["wst_late"]]
            options = [str(label) for label, _value in picker.query_one("#branch-choice", Select)._options]
            assert [o.strip() for o in options[1:]] == ["NRB01 Nairobi", "NRB02 Westlands"]

    run(scenario())
