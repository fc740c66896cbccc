"""Forms that ask before throwing typed work away, that show every bad field at once, and that warn (never
refuse) about a shared phone or a customer with a loan in play."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Input, Static

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from screens.confirm import ConfirmScreen
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from screens.home import HomeScreen
from screens.leaving import LEAVE_TITLE
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.payment_entry import PaymentEntryScreen
from screens.sign_in import SignInScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, make_new_loan, press, sign_in, type_into
from widgets.fields import FieldRow


def _dialog(app: AstrofinApp) -> ConfirmScreen:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen), screen
    return screen


def _dialog_text(app: AstrofinApp) -> str:
    dialog = _dialog(app)
    return f"{dialog.title_text}\n" + "\n".join(dialog.lines)


def _errors(screen: object) -> dict[str, str]:
    assert hasattr(screen, "query")
    return {row.field_name: row.message for row in screen.query(FieldRow) if row.message}


def test_escape_from_a_customer_form_with_typing_asks_first(app_engine: Engine, access_log: Path,
                                                            actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5", "escape")
            assert isinstance(app.screen, HomeScreen)  # nothing typed: no question

            await press(pilot, "f5")
            form = app.screen
            await type_into(pilot, "#first_name", "Amani")
            await press(pilot, "escape")
            assert _dialog(app).title_text == LEAVE_TITLE and "First name: Amani" in _dialog_text(app)
            assert "n / escape = no" in str(_dialog(app).query_one("#dialog-keys", Static).content)
            await press(pilot, "escape")  # no: stay, with what was typed
            assert app.screen is form and form.query_one("#first_name", Input).value == "Amani"
            await press(pilot, "escape", "y")
            assert isinstance(app.screen, HomeScreen)

    run(scenario())


def test_loan_application_asks_before_leaving_and_on_sign_out(app_engine: Engine, access_log: Path,
                                                              actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6", "escape")
            assert isinstance(app.screen, HomeScreen)
            await press(pilot, "f6")
            form = app.screen
            assert isinstance(form, LoanApplicationScreen)
            await type_into(pilot, "#principal", "25,000")
            await press(pilot, "escape")
            assert "Principal: 25,000" in _dialog_text(app)
            await press(pilot, "n")
            assert app.screen is form
            await press(pilot, "ctrl+o")
            assert _dialog(app).title_text == LEAVE_TITLE
            await press(pilot, "n")
            assert app.screen is form and app.actor is not None
            await press(pilot, "ctrl+o", "y")
            assert isinstance(app.screen, SignInScreen) and app.actor is None

    run(scenario())


def test_payment_entry_asks_only_when_an_amount_was_typed(app_engine: Engine, engine: Engine, access_log: Path,
                                                          actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Kiprono", "Langat")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3", *loan.loan_number, "enter")
            assert isinstance(app.screen, PaymentEntryScreen) and app.screen.due is not None
            await press(pilot, "escape")  # the suggested amount was not typed by anyone
            assert isinstance(app.screen, HomeScreen)

            await press(pilot, "f3", *loan.loan_number, "enter")
            entry = app.screen
            await type_into(pilot, "#amount", "1,500")
            await press(pilot, "escape")
            assert f"Amount 1,500 ({loan.loan_number})" in _dialog_text(app)
            await press(pilot, "n")
            assert app.screen is entry and entry.query_one("#amount", Input).value == "1,500"
            await press(pilot, "ctrl+q")
            assert _dialog(app).title_text == LEAVE_TITLE
            await press(pilot, "n")
            assert app.is_running and app.screen is entry
            await press(pilot, "ctrl+q", "y")
            assert app.return_code == 0  # quit, as asked

    run(scenario())
    assert count(engine, "SELECT count(*) FROM transactions WHERE transaction_type = 'repayment'") == 0


def test_a_refused_customer_save_shows_every_bad_field_at_once_and_focuses_the_first(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="First", last_name="Holder", national_id="ID-777"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            form = app.screen
            assert isinstance(form, CustomerFormScreen)
            await type_into(pilot, "#national_id", "ID-777")
            await type_into(pilot, "#phone", "07 abc")
            await type_into(pilot, "#date_of_birth", "31/02/1990")
            await press(pilot, "enter")
            errors = _errors(form)
            assert set(errors) == {"first_name", "last_name", "national_id", "phone", "date_of_birth"}, errors
            assert "already has this national ID" in errors["national_id"]
            assert app.focused is form.query_one("#first_name", Input)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM customers") == 1


def test_a_refused_application_shows_every_bad_field_at_once_and_focuses_the_first(
        app_engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            form = app.screen
            assert isinstance(form, LoanApplicationScreen)
            await type_into(pilot, "#principal", "12.345")
            await type_into(pilot, "#interest_rate", "24%")
            await type_into(pilot, "#term", "0")
            await type_into(pilot, "#first_repayment_date", "31/02/2025")
            await press(pilot, "ctrl+s")
            errors = _errors(form)
            assert set(errors) == {"customer", "principal", "interest_rate", "term", "first_repayment_date"}, errors
            assert app.focused is form.query_one("#customer", Input)

    run(scenario())


def test_a_phone_another_customer_has_warns_and_saves_when_told_to(app_engine: Engine, engine: Engine,
                                                                   access_log: Path, actors: dict[str, Actor]) -> None:
    holder = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Wanjiku", last_name="Kamau", phone="+254712000001"), today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            form = app.screen
            await type_into(pilot, "#first_name", "Juma")
            await type_into(pilot, "#last_name", "Kamau")
            await type_into(pilot, "#phone", "+254 712 000 001")
            await press(pilot, "enter")
            assert f"{holder.customer_number} Wanjiku Kamau has the phone +254712000001" in _dialog_text(app)
            await press(pilot, "n")
            assert app.screen is form and isinstance(form, CustomerFormScreen) and form.saved is None
            await press(pilot, "ctrl+s", "y")
            assert isinstance(app.screen, CustomerDetailScreen)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM customers WHERE phone = '+254712000001'") == 2


def test_a_customer_with_a_loan_in_play_is_a_warning_not_a_refusal(app_engine: Engine, engine: Engine,
                                                                   access_log: Path, actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=TODAY)
    pending = LoanRepository(engine, actors["officer"]).apply(
        LoanApplication(customer.id, LoanTerms(Decimal("5000.00"), Decimal("24"), "flat", 6, "monthly")),
        today=TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            form = app.screen
            assert isinstance(form, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            warning = str(form.query_one("#customer-warning", Static).content)
            assert f"{pending.loan_number} (pending)" in warning and "you may still apply" in warning
            await type_into(pilot, "#principal", "8,000")
            await press(pilot, "ctrl+s")
            assert "Mutua Musyoka already has a loan in play" in _dialog_text(app)
            assert pending.loan_number in _dialog_text(app)
            await press(pilot, "n")
            assert app.screen is form and form.submitted is None
            await press(pilot, "ctrl+s", "y")
            assert isinstance(app.screen, LoanDetailScreen)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM loans WHERE customer_id = :c", c=customer.id) == 2
