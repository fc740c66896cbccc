"""Submitting twice records once: a double enter on the confirmation, and a resubmission after the database
connection dropped; the banner shows while it is down and the form keeps what was typed."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from textual.widgets import Input

from db.engine import Actor
from screens.confirm import ConfirmScreen
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from screens.payment_entry import PaymentEntryScreen
from screens.receipt import ReceiptScreen
from tests.tui.conftest import run, settle
from tests.tui.front import count, front_app, make_new_loan, press, sign_in, type_into
from widgets.fields import FieldRow
from widgets.status import ConnectionBanner


class Outage:
    """Points the app's engine at a socket folder with no server in it, and back."""

    def __init__(self, engine: Engine, nowhere: Path) -> None:
        self.engine = engine
        self.down = False
        self.refused = 0
        nowhere.mkdir()

        @event.listens_for(engine, "do_connect")
        def _connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            if self.down:
                self.refused += 1
                cparams["host"] = str(nowhere)

    def start(self) -> None:
        self.down = True
        self.engine.dispose()  # pooled connections go, as they would when the server stops

    def end(self) -> None:
        self.down = False


@pytest.fixture
def outage(app_engine: Engine, tmp_path: Path) -> Iterator[Outage]:
    yield Outage(app_engine, tmp_path / "no-server-here")


def _repayments(engine: Engine) -> int:
    return count(engine, "SELECT count(*) FROM transactions WHERE transaction_type = 'repayment'")


async def _open_payment(pilot: Any, actors: dict[str, Actor], loan_number: str) -> PaymentEntryScreen:
    await sign_in(pilot, actors["cashier"])
    await press(pilot, "f3")
    await type_into(pilot, "#find", loan_number)
    await press(pilot, "enter")
    screen = pilot.app.screen
    assert isinstance(screen, PaymentEntryScreen) and screen.due is not None
    return screen


def test_double_enter_records_one_payment(app_engine: Engine, engine: Engine, access_log: Path,
                                          actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Zawadi", "Mohamed")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_payment(pilot, actors, loan.loan_number)
            key = screen.idempotency_key
            # enter opens the confirmation, enter confirms, and the third and fourth arrive before anything
            # is drawn: all land while the payment is on its way.
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("enter", "enter", "enter")
            await settle(pilot)
            await pilot.press("y", "enter")
            await settle(pilot)
            assert screen.idempotency_key == key
            assert isinstance(app.screen, ReceiptScreen)

    run(scenario())
    assert _repayments(engine) == 1


def test_resubmission_after_a_dropped_connection_records_one_payment(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], outage: Outage) -> None:
    loan = make_new_loan(engine, actors, "Juma", "Hassan")

    async def scenario() -> None:
        app = front_app(app_engine, access_log, retry_seconds=3600.0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_payment(pilot, actors, loan.loan_number)
            key = screen.idempotency_key
            await type_into(pilot, "#amount", "1,000.5")
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)

            outage.start()
            await press(pilot, "y")
            assert app.screen is screen
            assert screen.query_one(ConnectionBanner).shown
            assert "Database connection lost" in str(screen.query_one(ConnectionBanner).content)
            assert screen.query_one("#amount", Input).value == "1,000.5"
            assert outage.refused >= 1 and _repayments(engine) == 0

            # The cashier presses enter again while it is down: nothing new starts, the first waits.
            await press(pilot, "enter")
            assert app.screen is screen

            outage.end()
            screen._probe()  # the retry timer's tick, without waiting for it
            await settle(pilot)
            await settle(pilot)
            assert isinstance(app.screen, ReceiptScreen), screen.query_one("#status").content
            assert not screen.query_one(ConnectionBanner).shown
            assert app.screen.receipt is not None and app.screen.receipt.amount == Decimal("1000.50")
            assert screen.idempotency_key == key

    run(scenario())
    assert _repayments(engine) == 1


def test_a_first_record_that_committed_but_whose_answer_was_lost_is_not_recorded_again(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], outage: Outage) -> None:
    """The payment reached the database, the answer did not: the retry with the same key finds it."""
    loan = make_new_loan(engine, actors, "Chebet", "Koech")

    async def scenario() -> None:
        app = front_app(app_engine, access_log, retry_seconds=3600.0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_payment(pilot, actors, loan.loan_number)
            from db.repositories.payments import PaymentRepository

            # The same key, recorded from another path first (as if the first attempt's reply was lost).
            PaymentRepository(app_engine, actors["cashier"]).record(loan.id, Decimal("945.60"),
                                                                    screen.ctx.today(), screen.idempotency_key)
            await press(pilot, "enter")
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen)

    run(scenario())
    assert _repayments(engine) == 1


def test_a_customer_form_survives_an_outage_and_saves_once(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], outage: Outage) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log, retry_seconds=3600.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            form = app.screen
            assert isinstance(form, CustomerFormScreen)
            await type_into(pilot, "#first_name", "Nafula")
            await type_into(pilot, "#last_name", "Wekesa")
            await type_into(pilot, "#phone", "+254722000111")
            outage.start()
            await press(pilot, "enter")
            assert form.query_one(ConnectionBanner).shown
            assert [form.query_one(f"#{n}", Input).value for n in ("first_name", "last_name", "phone")] == [
                "Nafula", "Wekesa", "+254722000111"]
            outage.end()
            form._probe()
            await settle(pilot)
            assert not form.query_one(ConnectionBanner).shown
            assert "Submit again" in str(form.query_one("#status").content)
            assert count(engine, "SELECT count(*) FROM customers") == 0
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerDetailScreen)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM customers WHERE last_name = 'Wekesa'") == 1


def test_another_loan_clears_the_previous_loans_messages(app_engine: Engine, engine: Engine, access_log: Path,
                                                         actors: dict[str, Actor]) -> None:
    """A refusal beside the amount belongs to the loan it was about; picking another loan takes it away."""
    first = make_new_loan(engine, actors, "Halima", "Abdi")
    second = make_new_loan(engine, actors, "Baraka", "Otieno")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_payment(pilot, actors, first.loan_number)
            await type_into(pilot, "#amount", "abc")
            await press(pilot, "enter")
            amount_row = screen.query_one("#field-amount", FieldRow)
            assert amount_row.message
            await press(pilot, "ctrl+f")
            await type_into(pilot, "#find", second.loan_number)
            await press(pilot, "enter")
            assert screen.due is not None and screen.due.loan_number == second.loan_number
            assert screen.query_one("#amount", Input).value  # the suggested amount
            assert not amount_row.message
            assert not amount_row.has_class("-invalid")

    run(scenario())
