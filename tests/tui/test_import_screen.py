"""The back office import screen: a missing file refused beside its field; a small M-Pesa statement imported in a
worker with the progress bar reaching the end and the summary on screen, then the day's reconciliation of it on the
suspense screen; the template written beside the path typed; and its snapshot at 80×24."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar, Select, Static

from db.engine import Actor
from db.repositories.loans import LoanDetail
from screens import import_file
from screens.import_file import ImportFileScreen, path_problem, template_path
from screens.suspense import SuspenseScreen
from tests.tui.conftest import run, settle
from tests.tui.front import front_app, make_late_loan, press, sign_in
from widgets.fields import FieldRow

SnapCompare = Callable[..., bool]
MISSING = "/nonexistent/astrofin/statement.csv"


def statement(loan_number: str, day: date) -> str:
    """An M-Pesa organisation statement as the portal exports it: its header lines, then one payment matched by
    loan number, one no loan matches, and one failed (never posted)."""
    d = day.strftime("%d-%m-%Y")
    return (
        "Account Holder:,ASTRO MICROFINANCE\r\n"
        "Short Code:,600000\r\n"
        "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,"
        "Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.\r\n"
        f"RKS1000001,{d} 09:01:00,{d} 09:01:00,Pay Bill from 254712000001 - JANE DOE Acc. {loan_number},"
        f"Completed,\"1,000.00\",,\"5,000.00\",true,Pay Bill,254712000001 - JANE DOE,,{loan_number}\r\n"
        f"RKS1000002,{d} 09:05:00,{d} 09:05:00,Pay Bill from 254712000002 - JOHN ROE Acc. ZZZ999,"
        "Completed,250.00,,\"5,250.00\",true,Pay Bill,254712000002 - JOHN ROE,,ZZZ999\r\n"
        f"RKS1000003,{d} 09:09:00,{d} 09:09:00,Pay Bill from 254712000003 - MARY POE Acc. {loan_number},"
        f"Failed,300.00,,\"5,250.00\",true,Pay Bill,254712000003 - MARY POE,,{loan_number}\r\n"
    )


async def _field(pilot: Pilot[Any], selector: str, value: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = value
    await settle(pilot)


def _error(screen: Any, name: str) -> str:
    return str(screen.query_one(f"#field-{name}", FieldRow).message)


def test_path_checks_and_template_place(tmp_path: Path) -> None:
    assert path_problem("") is not None
    assert path_problem(MISSING) == f"there is no file {MISSING}"
    assert "is a folder" in str(path_problem(str(tmp_path)))
    assert template_path(str(tmp_path), "loans") == tmp_path / "loans-template.csv"
    assert template_path(str(tmp_path / "book.csv"), "customers") == tmp_path / "customers-template.csv"


@pytest.fixture
def loan(engine: Engine, actors: dict[str, Actor]) -> LoanDetail:
    return make_late_loan(engine, actors, "Jane", "Doe", days_late=12, principal="10000.00")


def test_a_statement_imported_then_reconciled(app_engine: Engine, engine: Engine, access_log: Path,
                                              actors: dict[str, Actor], loan: LoanDetail, tmp_path: Path) -> None:
    with engine.connect() as conn:
        server_day = conn.execute(text("SELECT current_date")).scalar_one()
    source = tmp_path / "statement.csv"
    source.write_text(statement(loan.loan_number, server_day), encoding="utf-8")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors["accountant"])
            await press(pilot, "ctrl+y")
            screen = app.screen
            assert isinstance(screen, ImportFileScreen)
            assert screen.query_one("#kind", Select).value == "mpesa"

            await _field(pilot, "#path", MISSING)
            await press(pilot, "ctrl+s")
            assert _error(screen, "path") == f"there is no file {MISSING}"
            assert not screen.busy("import")

            await _field(pilot, "#path", str(source))
            await press(pilot, "ctrl+s")
            await settle(pilot)
            assert _error(screen, "path") == ""
            bar = screen.query_one("#progress", ProgressBar)
            assert bar.total is not None and bar.progress == bar.total
            summary = str(screen.query_one("#summary", Static).content)
            assert screen.summary is not None and screen.summary.rows == 3
            assert "posted: 1" in summary and "suspense: 1" in summary
            assert "statement.report.csv" in summary
            assert (tmp_path / "statement.report.csv").exists()

            # The day's reconciliation on the suspense screen: statement total = posted + suspense + refused.
            await press(pilot, "escape")
            await press(pilot, "ctrl+z")
            suspense = app.screen
            assert isinstance(suspense, SuspenseScreen)
            assert [r.receipt_number for r in suspense.rows] == ["RKS1000002"]
            await press(pilot, "r")
            await _field(pilot, "#day", server_day.isoformat())
            await press(pilot, "enter")
            figures = str(suspense.query_one("#figures", Static).content)
            assert "Posted to loans" in figures and "1,000.00" in figures
            assert "To suspense" in figures and "250.00" in figures
            assert "Balances" in figures and "NOT" not in figures

    run(scenario())


def test_escape_leaves_the_run_going(app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor],
                                     loan: LoanDetail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Escape during a run asks nothing: the screen goes, the import finishes in the background, and a notice on
    the screen beneath says so. (The run is held until the screen has gone, so the test does not race it.)"""
    with engine.connect() as conn:
        server_day = conn.execute(text("SELECT current_date")).scalar_one()
    source = tmp_path / "statement.csv"
    source.write_text(statement(loan.loan_number, server_day), encoding="utf-8")
    gone = threading.Event()
    real = import_file.run_import

    def held(*args: Any) -> Any:
        assert gone.wait(10)
        return real(*args)

    monkeypatch.setattr(import_file, "run_import", held)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "ctrl+y")
            await _field(pilot, "#path", str(source))
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ImportFileScreen)
            gone.set()
            for _ in range(100):
                if any("Import finished" in (n.title or "") for n in app._notifications):
                    break
                await asyncio.sleep(0.1)
            finished = [n.message for n in app._notifications if n.title == "Import finished"]
            assert finished and "statement.report.csv" in finished[0]

    run(scenario())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mobile_money_receipts")).scalar_one() == 2


def test_import_snapshot(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                         actors: dict[str, Actor]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, actors["accountant"])
        await press(pilot, "ctrl+y")
        await _field(pilot, "#path", MISSING)
        await press(pilot, "ctrl+s")

    assert snap_compare(front_app(app_engine, access_log), terminal_size=(80, 24), run_before=run_before)


def test_the_screen_opens_in_its_file_field(app_engine: Engine, access_log: Path,
                                            actors: dict[str, Actor]) -> None:
    """ctrl+y then the path typed at once lands in the file field (it went to the kind list while that came first)."""
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["accountant"])
            await press(pilot, "ctrl+y")
            await pilot.press(*"/tmp/st.csv")
            await settle(pilot)
            assert app.screen.query_one("#path", Input).value == "/tmp/st.csv"
            assert app.screen.query_one("#kind", Select).value == "mpesa"

    run(scenario())
