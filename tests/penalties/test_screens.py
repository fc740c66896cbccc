"""The loan detail's penalties panel and the supervisor's waive dialog, driven as a person would (Pilot, 80×24)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from textual.widgets import Input

from db.engine import make_engine
from screens.loan_charges import ChargesPanel, WaiveDialog
from screens.loan_detail import LoanDetailScreen
from tests.penalties.book import charges, loan, product, run, staff
from tests.tui.conftest import run as drive
from tests.tui.front import front_app, press, sign_in

D = Decimal


def test_the_panel_shows_the_charges_and_a_supervisor_waives_one(db_url: URL, engine: Engine,
                                                                  tmp_path: Path) -> None:
    lid = loan(engine, product(engine, interval=7, cap="100"))
    run(engine, date(2026, 2, 11))
    people = staff(engine)
    app_engine = make_engine(db_url)

    async def scenario() -> None:
        app = front_app(app_engine, tmp_path / "access.log")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, people["cashier"])
            app.push_screen(LoanDetailScreen(app.screen.ctx, lid))  # type: ignore[attr-defined]
            await press(pilot)
            screen = app.screen
            panel = screen.query_one("#charges", ChargesPanel)
            assert panel.display and panel.row_count == 2
            assert not screen.check_action("waive", ())  # a cashier does not waive
            await sign_in(pilot, people["supervisor"])
            app.push_screen(LoanDetailScreen(app.screen.ctx, lid))  # type: ignore[attr-defined]
            await press(pilot)
            screen = app.screen
            panel = screen.query_one("#charges", ChargesPanel)
            assert screen.check_action("waive", ())
            panel.focus()
            await press(pilot, "x")
            dialog = app.screen
            assert isinstance(dialog, WaiveDialog)
            assert dialog.query_one("#waive-amount", Input).value == "47.28"
            reason = dialog.query_one("#waive-reason", Input)
            amount = dialog.query_one("#waive-amount", Input)
            for typed_amount, typed_reason, field, words in (
                    ("47.28", "x" * 5000, "reason", "at most 500 characters"),
                    ("47.28", "  ", "reason", "say why"),
                    ("-1", "ok", "amount", "negative"),
                    ("abc", "ok", "amount", "use digits"),
                    ("1.005", "ok", "amount", "two decimals"),
                    ("47.29", "ok", "amount", "only 47.28")):
                amount.value, reason.value = typed_amount, typed_reason
                reason.focus()
                await press(pilot, "enter")
                assert app.screen is dialog
                assert words in dialog.query_one(f"#field-{field}").message  # type: ignore[attr-defined]
            assert [c[4] for c in charges(engine, lid)] == [D("0.00"), D("0.00")]
            amount.value, reason.value = "7.28", "[b]Agreed[/b] after the flood"
            reason.focus()
            await press(pilot, "enter")
            await press(pilot)
            assert app.screen is screen
            assert "Waived KES 7.28" in str(screen.query_one("#status").render())
            assert panel.charges[0].waived_amount == D("7.28")
            assert panel.charges[0].waive_reason == "[b]Agreed[/b] after the flood"

    drive(scenario())
    app_engine.dispose()
    assert [c[4] for c in charges(engine, lid)] == [D("7.28"), D("0.00")]
