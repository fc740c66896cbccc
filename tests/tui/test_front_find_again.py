"""Starting over on a form: ctrl+f in payment entry and loan detail, and a schedule preview that never outlives
the terms it was made for."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Input, Static

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.payment_entry import PaymentEntryScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import front_app, make_late_loan, make_new_loan, press, sign_in, type_into
from widgets.tables import PageTable, ScheduleTable


def test_ctrl_f_in_payment_entry_clears_the_find_field_the_list_and_what_was_due(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    make_late_loan(engine, actors, "Halima", "Said", days_late=5)
    make_late_loan(engine, actors, "Halima", "Wairimu", days_late=9)
    one = make_new_loan(engine, actors, "Kiprono", "Langat")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3")
            screen = app.screen
            assert isinstance(screen, PaymentEntryScreen)
            await type_into(pilot, "#find", "Halima")
            await press(pilot, "enter")
            choices = screen.query_one("#choices", PageTable)
            assert choices.display and choices.row_count == 2
            await press(pilot, "ctrl+f")
            assert screen.query_one("#find", Input).value == ""
            assert not choices.display and choices.row_count == 0
            assert app.focused is screen.query_one("#find", Input)

            await type_into(pilot, "#find", one.loan_number)
            await press(pilot, "enter")
            assert screen.due is not None and screen.due.loan_id == one.id
            assert screen.query_one("#amount", Input).value
            await press(pilot, "ctrl+f")
            assert screen.due is None and screen.loan_id is None
            assert screen.query_one("#find", Input).value == ""
            assert screen.query_one("#amount", Input).value == ""
            assert not screen.query_one("#due", Static).display
            assert app.focused is screen.query_one("#find", Input)

    run(scenario())


def test_a_search_answered_after_ctrl_f_is_not_shown(app_engine: Engine, engine: Engine, access_log: Path,
                                                     actors: dict[str, Actor]) -> None:
    one = make_new_loan(engine, actors, "Kiprono", "Langat")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3")
            screen = app.screen
            assert isinstance(screen, PaymentEntryScreen)
            screen.query_one("#find", Input).value = one.loan_number
            await pilot.press("enter", "ctrl+f")  # the answer arrives after ctrl+f
            await press(pilot)
            assert screen.due is None and screen.query_one("#find", Input).value == ""
            assert not screen.query_one("#due", Static).display

    run(scenario())


def test_loan_detail_number_field_can_be_reached_again_after_a_loan_is_shown(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    first = make_new_loan(engine, actors, "Kiprono", "Langat")
    second = make_new_loan(engine, actors, "Mutua", "Musyoka")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["supervisor"])
            # Opened on a loan (from the customer or the queue): the field starts hidden.
            app.push_screen(LoanDetailScreen(app.screen.ctx, first.id))  # type: ignore[attr-defined]
            await press(pilot)
            screen = app.screen
            assert isinstance(screen, LoanDetailScreen) and screen.loan is not None
            await press(pilot, "ctrl+f")
            field = screen.query_one("#find", Input)
            assert app.focused is field and field.value == ""
            await press(pilot, *second.loan_number, "enter")
            assert screen.loan is not None and screen.loan.id == second.id
            # Shown from the field itself: ctrl+f takes the cursor back there, emptied.
            await press(pilot, "ctrl+f")
            assert app.focused is field and field.value == ""
            await press(pilot, *first.loan_number, "enter")
            assert screen.loan is not None and screen.loan.id == first.id

    run(scenario())


def test_the_preview_goes_as_soon_as_the_terms_are_wrong_and_names_the_field(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            await type_into(pilot, "#principal", "10000")
            schedule = screen.query_one("#schedule", ScheduleTable)
            totals = screen.query_one("#totals", Static)
            assert schedule.row_count == 12
            await type_into(pilot, "#interest_rate", "24%")
            assert schedule.row_count == 0
            assert "check the rate" in str(totals.content)
            assert "percentage" in screen.query_one("#field-interest_rate").message  # type: ignore[attr-defined]
            await type_into(pilot, "#interest_rate", "24")
            assert schedule.row_count == 12
            await type_into(pilot, "#term", "0")
            assert schedule.row_count == 0 and "check the installments" in str(totals.content)
            await type_into(pilot, "#term", "6")
            assert schedule.row_count == 6
            # Wrong while a preview is on its way: the late answer is not shown.
            screen.query_one("#term", Input).value = "8"
            screen.query_one("#principal", Input).value = "abc"
            await press(pilot)
            assert schedule.row_count == 0 and "check the principal" in str(totals.content)

    run(scenario())
