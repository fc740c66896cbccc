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


def test_the_admin_sets_a_late_rule_in_the_product_form(db_url: URL, engine: Engine, tmp_path: Path) -> None:
    from textual.widgets import Select

    from screens.admin import AdminScreen
    from screens.admin_products import ProductFormScreen
    from tests.penalties.book import scalar

    people = staff(engine)
    app_engine = make_engine(db_url)

    async def scenario() -> None:
        app = front_app(app_engine, tmp_path / "access.log")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, people["admin"])
            await press(pilot, "f12")
            assert isinstance(app.screen, AdminScreen)
            await press(pilot, "alt+n", "n")
            form = app.screen
            assert isinstance(form, ProductFormScreen)
            typed = {"#product-code": "LATE", "#product-name": "Late rule", "#product-penalty_value": "1.005",
                     "#product-penalty_grace_days": "x", "#product-penalty_interval_days": "0",
                     "#product-penalty_cap": "-1"}
            for selector, value in typed.items():
                form.query_one(selector, Input).value = value
            form.query_one("#product-penalty_method", Select).value = "flat"
            await press(pilot, "ctrl+s")
            assert app.screen is form
            said = {name: form.query_one(f"#field-{name}").message  # type: ignore[attr-defined]
                    for name in ("penalty_value", "penalty_grace_days", "penalty_interval_days", "penalty_cap")}
            assert "decimals" in said["penalty_value"] and "whole number" in said["penalty_grace_days"]
            assert "from 1" in said["penalty_interval_days"] and "negative" in said["penalty_cap"]
            assert scalar(engine, "SELECT count(*) FROM loan_products") == 0
            for selector, value in {"#product-penalty_value": "50", "#product-penalty_grace_days": "2",
                                    "#product-penalty_interval_days": "7", "#product-penalty_cap": "500"}.items():
                form.query_one(selector, Input).value = value
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, AdminScreen), form.status.text

    drive(scenario())
    app_engine.dispose()
    assert scalar(engine, "SELECT count(*) FROM loan_products WHERE code = 'LATE' AND penalty_method = 'flat' "
                          "AND penalty_value = 50 AND penalty_grace_days = 2 AND penalty_interval_days = 7 "
                          "AND penalty_cap = 500") == 1
