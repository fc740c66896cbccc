"""The reschedule form with its side-by-side preview, its refusals beside the fields (nothing written), and a second
supervisor's approval from the reports screen's list, with the old schedule kept and shown on the loan."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.widgets import DataTable, Input, Static, TabbedContent

from db.engine import Actor
from db.repositories.reschedules import RescheduleRepository, RescheduleTerms
from screens.confirm import ReasonScreen
from screens.loan_detail import LoanDetailScreen
from screens.reports import ReportsScreen
from screens.reschedule import RescheduleScreen
from screens.reschedule_history import RescheduleHistoryScreen
from tests.ledger.helpers import TODAY, Staff, active_loan
from tests.tui.conftest import run, settle
from tests.tui.front import front_app, press, sign_in, type_into
from widgets.dates import format_for_typing
from widgets.fields import FieldRow
from widgets.tables import PageTable
from widgets.tail_table import TailTable


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def _actor(staff: Staff, who: str) -> Actor:
    role = {"officer": "loan_officer", "supervisor": "supervisor", "supervisor2": "supervisor"}[who]
    return Actor(getattr(staff, who), who, role, who.title())


def _loan(engine: Engine, staff: Staff) -> int:
    with engine.begin() as conn:
        return active_loan(conn, staff, disbursed=TODAY - timedelta(days=100), first=TODAY - timedelta(days=70))


def _written(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM loan_reschedules")).scalar_one())


async def put(pilot: Any, selector: str, value: str) -> None:
    """A field's whole value at once (one change, one preview), as a paste would."""
    pilot.app.screen.query_one(selector, Input).value = value
    await settle(pilot)


def _message(screen: object, name: str) -> str:
    return screen.query_one(f"#field-{name}", FieldRow).message  # type: ignore[attr-defined]


def test_the_form_previews_side_by_side_and_refuses_bad_input_beside_the_field(
        app_engine: Engine, engine: Engine, access_log: Path, staff: Staff) -> None:
    loan = _loan(engine, staff)

    async def scenario() -> None:
        app = front_app(app_engine, access_log, today=date.today)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, _actor(staff, "officer"))
            app.push_screen(LoanDetailScreen(app.screen_context(), loan))
            await settle(pilot)
            await press(pilot, "s")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RescheduleScreen)
            old, new = (screen.query_one(f"#{side}-table", TailTable) for side in ("old", "new"))
            assert (old.row_count, new.row_count) == (12, 12)
            await type_into(pilot, "#extra_installments", "3")
            assert new.row_count == 15
            assert "principal moved KES 10,000.00" in str(screen.query_one("#totals", Static).content)
            # Typed wrong: beside the field, the preview gone, nothing written.
            for field, typed, said in (("extra_installments", "[b]x[/b]", "whole number"),
                                       ("new_rate", "-1", "annual rate"), ("new_rate", "1000000", "annual rate"),
                                       ("new_next_due_date", "31/02/2026", "no such day")):
                await put(pilot, f"#{field}", typed)
                assert said in _message(screen, field), (field, _message(screen, field))
                assert new.row_count == 0
                await put(pilot, f"#{field}", "3" if field == "extra_installments" else "")
            # Refused by the database: beside the field, in its words.
            good = {"new_next_due_date": format_for_typing(TODAY + timedelta(days=10)), "extra_installments": "3",
                    "grace_periods": "1"}
            await put(pilot, "#new_next_due_date", good["new_next_due_date"])
            for field, typed, said in (
                    ("new_next_due_date", format_for_typing(TODAY - timedelta(days=101)), "before loan"),
                    ("extra_installments", "519", "at most 520 installments"),
                    ("grace_periods", "15", "Grace periods must be from 0 to 14")):
                await put(pilot, f"#{field}", typed)
                assert said in _message(screen, field), (field, _message(screen, field))
                assert new.row_count == 0
                await put(pilot, f"#{field}", good[field])
            assert new.row_count == 15 and _message(screen, "grace_periods") == ""
            # The reason: required, at most 500 characters; markup is kept as typed.
            await press(pilot, "ctrl+s")
            await settle(pilot)
            assert "say why" in _message(screen, "reason")
            reason = screen.query_one("#reason", Input)
            reason.value = "x" * 5000
            await press(pilot, "ctrl+s")
            await settle(pilot)
            assert "At most 500 characters" in _message(screen, "reason")
            assert _written(engine) == 0
            await type_into(pilot, "#reason", "[b]Drought[/b]")
            await press(pilot, "enter")
            await settle(pilot)
            assert _written(engine) == 1
            facts = str(screen.query_one("#facts", Static).content)
            assert "Waiting:" in facts and "\\[b]Drought\\[/b]" in facts
            assert screen.query_one("#reason", Input).disabled  # the officer waits for a supervisor

    run(scenario())


def test_a_second_supervisor_approves_from_the_reports_list_and_the_loan_shows_the_old_schedule(
        app_engine: Engine, engine: Engine, access_log: Path, staff: Staff) -> None:
    loan = _loan(engine, staff)
    RescheduleRepository(app_engine, _actor(staff, "supervisor")).request(
        loan, RescheduleTerms(1, TODAY + timedelta(days=10), 2), "Flooded shop")

    async def scenario() -> None:
        app = front_app(app_engine, access_log, today=date.today)
        async with app.run_test(size=(80, 24)) as pilot:
            # The requester sees it waiting and may not decide it.
            await sign_in(pilot, _actor(staff, "supervisor"))
            app.push_screen(RescheduleScreen(app.screen_context(), loan))
            await settle(pilot)
            await press(pilot, "ctrl+a")
            await settle(pilot)
            assert isinstance(app.screen, RescheduleScreen)
            assert "did not request it" in app.screen.status.text
            await sign_in(pilot, _actor(staff, "supervisor2"))
            # The reports screen lists the request waiting; enter opens it.
            app.push_screen(ReportsScreen(app.screen_context()))
            await settle(pilot)
            reports = app.screen
            reports.query_one("#reports", TabbedContent).active = "tab-reschedules"
            waiting = reports.query_one("#resched-pending", PageTable)
            assert waiting.row_count == 1
            waiting.focus()
            await press(pilot, "enter")
            await settle(pilot)
            assert isinstance(app.screen, RescheduleScreen)
            assert app.screen.query_one("#new-table", TailTable).row_count == 14
            await press(pilot, "ctrl+a")
            await settle(pilot)
            assert isinstance(app.screen, ReasonScreen)
            await type_into(pilot, "#reason", "Seen the flood report")
            await press(pilot, "enter")
            await settle(pilot)
            assert "Approved: the unpaid tail is now 14 installments" in app.screen.status.text
            await press(pilot, "escape")
            await settle(pilot)
            assert app.screen is reports and waiting.row_count == 0
            assert reports.query_one("#resched-months", DataTable).row_count == 1
            app.push_screen(LoanDetailScreen(app.screen_context(), loan))
            await settle(pilot)
            detail = app.screen
            assert "Rescheduled 1×" in str(detail.query_one("#reschedules", Static).content)
            await press(pilot, "h")
            await settle(pilot)
            assert isinstance(app.screen, RescheduleHistoryScreen)
            assert app.screen.query_one("#old-rows", TailTable).row_count == 12

    run(scenario())
    with engine.connect() as conn:
        assert tuple(conn.execute(text("SELECT status, decision_note FROM loan_reschedules")).one()) == (
            "approved", "Seen the flood report")
        assert conn.execute(text("SELECT count(*) FROM payment_schedules WHERE loan_id = :l"),
                            {"l": loan}).scalar_one() == 14
