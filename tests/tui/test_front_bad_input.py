"""Bad input in every field: the error shows beside the field, what was typed stays, nothing is written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Input

from db.engine import Actor
from db.repositories.customers import CustomerRepository
from db.validation import CustomerInput
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from screens.customer_lookup import CustomerLookupScreen
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.payment_entry import PaymentEntryScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, make_new_loan, press, sign_in, type_into
from widgets.fields import FieldRow
from widgets.tables import PageTable

HOSTILE = ("'; DROP TABLE customers; --", "' OR '1'='1", "%", "_", "\\", "O'Brien", "😀🎉", "[b]x[/b]",
           "Robert\"); DELETE FROM loans;--", "C-", "L-9999999")


def _written(engine: Engine) -> tuple[int, int, int, int]:
    return (count(engine, "SELECT count(*) FROM customers"), count(engine, "SELECT count(*) FROM loans"),
            count(engine, "SELECT count(*) FROM transactions"), count(engine, "SELECT count(*) FROM sms_histories"))


def _error(screen: object, name: str) -> str:
    assert hasattr(screen, "query_one")
    return screen.query_one(f"#field-{name}", FieldRow).message  # type: ignore[no-any-return]


CUSTOMER_CASES = [
    ("first_name", "A" * 500, "at most 100 characters"),
    ("first_name", "Amani 😀", "symbols or emoji"),
    ("last_name", "", "required"),
    ("phone", "07 abc", "e.g. 0712 345 678"),
    ("phone", "+254😀712345678", "e.g. 0712 345 678"),
    ("national_id", "1'; DROP TABLE customers;--", "national ID"),
    ("email", "amani@", "name@example.com"),
    ("date_of_birth", "2030-01-01", "in the past"),
    ("date_of_birth", "1990-02-30", "no such day"),
    ("date_of_birth", "31/02/1990", "no such day"),
    ("date_of_birth", "March 1990", "06/12/2026 (day first)"),
    ("date_of_birth", (TODAY.replace(year=TODAY.year - 10)).isoformat(), "at least 18"),
]


def test_customer_form_refuses_beside_the_field(app_engine: Engine, engine: Engine, access_log: Path,
                                                actors: dict[str, Actor]) -> None:
    before = _written(engine)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            form = app.screen
            assert isinstance(form, CustomerFormScreen)
            good = {"first_name": "Amani", "last_name": "Otieno", "phone": "+254711000222", "national_id": "",
                    "email": "", "date_of_birth": ""}
            for field, typed, expected in CUSTOMER_CASES:
                for name, value in good.items():
                    form.query_one(f"#{name}", Input).value = value
                form.query_one(f"#{field}", Input).value = typed
                form.query_one(f"#{field}", Input).focus()
                await press(pilot, "enter")
                assert app.screen is form
                assert expected in _error(form, field), (field, typed, _error(form, field))
                assert form.query_one(f"#{field}", Input).value == typed
                others = [row.field_name for row in form.query(FieldRow) if row.message and row.field_name != field]
                assert others == [], (field, typed)

    run(scenario())
    assert _written(engine) == before


def test_duplicate_national_id_is_refused_beside_the_field(app_engine: Engine, engine: Engine, access_log: Path,
                                                           actors: dict[str, Actor]) -> None:
    CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="First", last_name="Holder", national_id="ID-777"), today=TODAY)
    before = _written(engine)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            await type_into(pilot, "#first_name", "Second")
            await type_into(pilot, "#last_name", "Holder")
            await type_into(pilot, "#national_id", "ID-777")
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerFormScreen)
            assert "already has this national ID" in _error(app.screen, "national_id")
            assert app.screen.query_one("#national_id", Input).value == "ID-777"

    run(scenario())
    assert _written(engine) == before


PAYMENT_CASES = [
    ("amount", "abc", "use digits"),
    ("amount", "12.345", "two decimals"),
    ("amount", "-5", "negative"),
    ("amount", "0", "more than zero"),
    ("amount", "1e3", "use digits"),
    ("amount", "💰100", "use digits"),
    ("amount", "1,000,000", "owes only"),
    ("amount", "'; DELETE FROM transactions;--", "use digits"),
    ("payment_date", "2025-03-11", "future"),
    ("payment_date", "tomorrow", "06/12/2026 (day first)"),
    ("payment_date", "11/03/2025", "future"),
]


def test_payment_entry_refuses_beside_the_field(app_engine: Engine, engine: Engine, access_log: Path,
                                                actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Kiprono", "Langat")
    before = _written(engine)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3")
            await type_into(pilot, "#find", loan.loan_number)
            await press(pilot, "enter")
            screen = app.screen
            assert isinstance(screen, PaymentEntryScreen) and screen.due is not None
            for field, typed, expected in PAYMENT_CASES:
                screen.query_one("#amount", Input).value = "100"
                screen.query_one("#payment_date", Input).value = TODAY.isoformat()
                screen.query_one(f"#{field}", Input).value = typed
                screen.query_one(f"#{field}", Input).focus()
                await press(pilot, "enter")
                assert app.screen is screen  # no confirmation opened
                assert expected in _error(screen, field), (typed, _error(screen, field))
                assert screen.query_one(f"#{field}", Input).value == typed

    run(scenario())
    assert _written(engine) == before


APPLICATION_CASES = [
    ("principal", "abc", "use digits"),
    ("principal", "12.345", "two decimals"),
    ("principal", "-100", "negative"),
    ("interest_rate", "24%", "percentage"),
    ("interest_rate", "2000", "between 0 and 1000"),
    ("term", "0", "between 1 and 520"),
    ("term", "twelve", "whole number"),
    ("first_repayment_date", "2025-03-01", "cannot be before"),
    ("first_repayment_date", "01/03/2025", "cannot be before"),
    ("first_repayment_date", "1 March", "06/12/2026 (day first)"),
    ("purpose", "x" * 501, "at most 500"),
]


def test_loan_application_refuses_beside_the_field(app_engine: Engine, engine: Engine, access_log: Path,
                                                   actors: dict[str, Actor]) -> None:
    customer = CustomerRepository(engine, actors["officer"]).create(
        CustomerInput(first_name="Mutua", last_name="Musyoka"), today=TODAY)
    before = _written(engine)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await type_into(pilot, "#customer", customer.customer_number)
            await press(pilot, "enter")
            assert screen.customer_id == customer.id
            good = {"principal": "10000", "interest_rate": "24", "term": "12", "first_repayment_date": "",
                    "purpose": ""}
            for field, typed, expected in APPLICATION_CASES:
                for name, value in good.items():
                    screen.query_one(f"#{name}", Input).value = value
                screen.query_one(f"#{field}", Input).value = typed
                screen.query_one(f"#{field}", Input).focus()
                await press(pilot, "enter")
                assert app.screen is screen
                assert expected in _error(screen, field), (typed, _error(screen, field))
                assert screen.query_one(f"#{field}", Input).value == typed

    run(scenario())
    assert _written(engine) == before


def test_hostile_searches_find_nothing_break_nothing(app_engine: Engine, engine: Engine, access_log: Path,
                                                     actors: dict[str, Actor]) -> None:
    repo = CustomerRepository(engine, actors["officer"])
    obrien = repo.create(CustomerInput(first_name="Siobhan", last_name="O'Brien"), today=TODAY)
    marked = repo.create(CustomerInput(first_name="[b]x[/b]", last_name="Markup"), today=TODAY)
    before = _written(engine)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f2")
            screen = app.screen
            assert isinstance(screen, CustomerLookupScreen)
            table = screen.query_one("#results", PageTable)
            for typed in HOSTILE:
                await type_into(pilot, "#search", typed)
                assert screen.query_one("#search", Input).value == typed
                keys = {str(key.value) for key in table.rows}
                expected = {"O'Brien": {str(obrien.id)}, "[b]x[/b]": {str(marked.id)}}.get(typed, set())
                assert keys == expected, typed
                if not expected:
                    assert screen.status.text == "No customer matches."
            # A name with markup in it is shown as typed, never as markup.
            await type_into(pilot, "#search", "Markup")
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerDetailScreen)
            assert "\\[b]x\\[/b] Markup" in str(app.screen.query_one("#customer").content)
            await press(pilot, "escape", "escape", "f3")
            payment = app.screen
            assert isinstance(payment, PaymentEntryScreen)
            for typed in ("' OR 1=1 --", "😀", "L-0'; --"):
                await type_into(pilot, "#find", typed)
                await press(pilot, "enter")
                assert "no loan" in _error(payment, "find"), typed
                assert payment.query_one("#find", Input).value == typed
            await press(pilot, "escape", "f7")
            detail = app.screen
            assert isinstance(detail, LoanDetailScreen)
            for typed in ("L-0'; --", "🎉"):
                await type_into(pilot, "#find", typed)
                await press(pilot, "enter")
                assert "no loan numbered" in _error(detail, "find"), typed

    run(scenario())
    assert _written(engine) == before
