"""A loan application that starts from an empty form: find the customer among several, pick, submit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import OptionList

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, press, sign_in, type_into


def test_pick_a_customer_among_several_then_apply(app_engine: Engine, engine: Engine, access_log: Path,
                                                  actors: dict[str, Actor]) -> None:
    repo = CustomerRepository(engine, actors["officer"])
    repo.create(CustomerInput(first_name="Halima", last_name="Said"), today=TODAY)
    wairimu = repo.create(CustomerInput(first_name="Halima", last_name="Wairimu"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await press(pilot, "enter")
            assert "type a name" in screen.query_one("#field-customer").message  # type: ignore[attr-defined]
            await type_into(pilot, "#customer", "Halima")
            await press(pilot, "enter")
            choices = screen.query_one("#customer-choices", OptionList)
            assert choices.display and choices.option_count == 2 and app.focused is choices
            await press(pilot, "down", "down", "enter")
            assert screen.customer_id == wairimu.id
            assert "Halima Wairimu" in str(screen.query_one("#customer-name").content)
            await type_into(pilot, "#principal", "25000")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, LoanDetailScreen), screen.status.text
            assert app.screen.loan is not None and app.screen.loan.customer_id == wairimu.id

            # Typing into the customer box again undoes the pick.
            await press(pilot, "escape", "f6")
            again = app.screen
            assert isinstance(again, LoanApplicationScreen)
            await type_into(pilot, "#customer", wairimu.customer_number)
            await press(pilot, "enter")
            assert again.customer_id == wairimu.id
            await type_into(pilot, "#customer", "x", clear=False)
            assert again.customer_id is None

    run(scenario())
    assert count(engine, "SELECT count(*) FROM loans") == 1


def test_terms_that_would_end_in_zero_installments_say_the_longest_that_works(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Zawadi", last_name="Mutua"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            await type_into(pilot, "#principal", "1000")
            await type_into(pilot, "#interest_rate", "99.99")
            await type_into(pilot, "#term", "104")
            said = str(screen.query_one("#totals").content)  # type: ignore[attr-defined]
            assert said.startswith("No preview: at 99.99 % a monthly loan of 1,000.00 can run at most 102"), said
            await type_into(pilot, "#term", "102")
            assert "to repay" in str(screen.query_one("#totals").content)  # type: ignore[attr-defined]

    run(scenario())
