"""Loan products on screen: the admin's tab (create with errors beside the fields, edit, retire) and a loan
application that starts from a product (defaults filled, method and frequency locked, ranges refused beside the
field, the fee in the preview)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Input, Select

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from screens.admin import AdminScreen
from screens.admin_products import ProductFormScreen
from screens.confirm import ConfirmScreen
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, press, sign_in, type_into


def message(screen: object, field: str) -> str:
    return screen.query_one(f"#field-{field}").message  # type: ignore[attr-defined, no-any-return]


def test_the_admin_keeps_products_and_an_application_starts_from_one(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Achieng", last_name="Otieno"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["admin"])
            await press(pilot, "f12")
            assert isinstance(app.screen, AdminScreen)
            await press(pilot, "alt+n", "n")
            form = app.screen
            assert isinstance(form, ProductFormScreen)
            typed = {"#product-code": "x", "#product-name": "Business [b]loan[/b]", "#product-principal_min": "60000",
                     "#product-principal_max": "50000", "#product-rate_min": "18", "#product-rate_max": "30",
                     "#product-rate_default": "24", "#product-term_min": "8", "#product-term_max": "26",
                     "#product-term_default": "12", "#product-fee_percent": "2", "#product-fee_flat": "1e20"}
            for selector, value in typed.items():  # filled at once: typing key by key is tested elsewhere
                form.query_one(selector, Input).value = value
            await press(pilot, "ctrl+s")
            assert app.screen is form
            assert message(form, "code") == "a product code has 2 to 20 letters, digits or dashes"
            assert message(form, "fee_flat").startswith("the flat fee: use digits")
            assert message(form, "principal_min") == ""  # said once the amounts can be read
            assert app.focused is form.query_one("#product-code")  # the cursor on the first field to put right
            await type_into(pilot, "#product-code", "biz-weekly")
            await type_into(pilot, "#product-fee_flat", "100")
            await press(pilot, "ctrl+s")
            assert message(form, "principal_min") == "the smallest principal is above the largest (50,000.00)"
            assert app.focused is form.query_one("#product-principal_min")
            assert count(engine, "SELECT count(*) FROM loan_products") == 0
            await type_into(pilot, "#product-principal_min", "5,000")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, AdminScreen), form.status.text
            assert count(engine, "SELECT count(*) FROM loan_products WHERE code = 'BIZ-WEEKLY' AND fee_flat = 100 "
                                 "AND name = 'Business [b]loan[/b]'") == 1

            # Edit: the ranges widen; the method stays (no loan yet, so it could change).
            await press(pilot, "e")
            edit = app.screen
            assert isinstance(edit, ProductFormScreen)
            assert edit.query_one("#product-code", Input).value == "BIZ-WEEKLY"
            await type_into(pilot, "#product-principal_max", "80000")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, AdminScreen)
            assert count(engine, "SELECT count(*) FROM loan_products WHERE principal_max = 80000") == 1

            # The loan officer applies from the product.
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            picker = screen.query_one("#product", Select)
            assert app.focused is picker
            product_id = next(iter(screen.products))
            picker.value = product_id
            await pilot.pause()
            method = screen.query_one("#interest_method", Select)
            frequency = screen.query_one("#repayment_frequency", Select)
            assert (method.value, frequency.value, method.disabled, frequency.disabled) == ("flat", "weekly", True,
                                                                                            True)
            assert screen.query_one("#interest_rate", Input).value == "24"
            assert screen.query_one("#term", Input).value == "12"
            hint = str(screen.query_one("#product-hint").content)  # type: ignore[attr-defined]
            assert "5,000.00–80,000.00 · 18–30 % · 8–26 weeks · fee 2 % + 100.00" in hint, hint
            await type_into(pilot, "#principal", "10000")
            totals = str(screen.query_one("#totals").content)  # type: ignore[attr-defined]
            assert "Fee 300.00 · Paid out 9,700.00" in totals, totals
            await type_into(pilot, "#term", "27")
            assert message(screen, "term") == "the number of installments for BIZ-WEEKLY is 8 to 26"
            await press(pilot, "ctrl+s")
            assert app.screen is screen and count(engine, "SELECT count(*) FROM loans") == 0
            await type_into(pilot, "#term", "12")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, LoanDetailScreen), screen.status.text
            assert count(engine, "SELECT count(*) FROM loans WHERE product_id IS NOT NULL AND fee_amount = 300") == 1

            # The admin retires it: no new applications; the loan made under it stays.
            await sign_in(pilot, actors["admin"])
            await press(pilot, "f12", "alt+n", "x")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert count(engine, "SELECT count(*) FROM loan_products WHERE NOT is_active") == 1

    run(scenario())
