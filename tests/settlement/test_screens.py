"""Through the screens, as a cashier of MSA01: the loan's screen shows what pays it off today; payment entry shows it
too, ctrl+t pays the loan off with it and the receipt says the loan is closed; a payment on a written-off loan is
taken as a recovery, refused beside the amount above what is left, and its receipt says so."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.app import App
from textual.content import Content
from textual.widgets import Static

from screens.confirm import ConfirmScreen
from screens.home import HomeScreen
from screens.loan_detail import LoanDetailScreen
from screens.payment_entry import PaymentEntryScreen
from screens.receipt import ReceiptScreen
from tests.settlement.loans import make_loan
from tests.tills.book import TODAY, TillBook, one
from tests.tills.screens import loan_number, till_app
from tests.tui.conftest import run
from tests.tui.front import press, sign_in, type_into
from widgets.fields import FieldRow
from widgets.money import format_money


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def shown(app: App[Any], selector: str) -> str:
    return Content.from_markup(str(app.screen.query_one(selector, Static).content)).plain


def test_pay_off_and_recover_through_the_screens(app_engine: Engine, engine: Engine, access_log: Path,
                                                 book: TillBook) -> None:
    msa = book.msa
    settling = make_loan(app_engine, msa, "Settling")
    gone = make_loan(app_engine, msa, "Gone", principal="1500")
    sup = msa.staff["supervisor"]
    one(app_engine, sup, "SELECT write_off_loan(:l, :me, 'Left', :d)", l=gone, me=sup.user_id, d=TODAY)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT total FROM payoff_quote(:l)"), {"l": settling}).scalar_one()
    settling_no, gone_no = loan_number(app_engine, msa, settling), loan_number(app_engine, msa, gone)

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, msa.staff["cashier"])
            assert isinstance(app.screen, HomeScreen)
            # The loan's screen: what pays it off today.
            await press(pilot, "f7")
            await type_into(pilot, "#find", settling_no)
            await press(pilot, "enter")
            assert isinstance(app.screen, LoanDetailScreen)
            assert f"Pay off today: {format_money(total, 'KES')}" in shown(app, "#payoff")
            await press(pilot, "escape")

            # Payment entry: the same quote; ctrl+t fills it in and, confirmed, pays the loan off.
            await press(pilot, "f3")
            assert isinstance(app.screen, PaymentEntryScreen)
            await type_into(pilot, "#find", settling_no)
            await press(pilot, "enter")
            assert f"Pay off today: {format_money(total, 'KES')}" in shown(app, "#payoff")
            await type_into(pilot, "#payment_date", "2099-01-01")
            await press(pilot, "ctrl+t")
            assert not isinstance(app.screen, ConfirmScreen)
            assert "future" in str(app.screen.query_one("#field-payment_date", FieldRow).message)
            await type_into(pilot, "#payment_date", TODAY.isoformat())
            await press(pilot, "ctrl+t")
            assert isinstance(app.screen, ConfirmScreen), shown(app, "#status")
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen), app.screen
            receipt = shown(app, "#receipt")
            assert "Loan closed" in receipt and format_money(total, "KES") in receipt, receipt
            await press(pilot, "escape")

            # A written-off loan takes a recovery: above what is left, refused beside the amount; then taken.
            assert isinstance(app.screen, PaymentEntryScreen)
            await type_into(pilot, "#find", gone_no)
            await press(pilot, "enter")
            assert "Recovered: KES 0.00 of 1,500.00 written off" in shown(app, "#payoff")
            await type_into(pilot, "#amount", "1500.01")
            await press(pilot, "enter")
            assert not isinstance(app.screen, ConfirmScreen)
            assert "1,500.00" in str(app.screen.query_one("#field-amount", FieldRow).message)
            await type_into(pilot, "#amount", "300")
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen), shown(app, "#status")
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen), app.screen
            assert "Recovery on written-off loan" in shown(app, "#receipt")

    run(scenario())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM loans WHERE id = :l"), {"l": settling}).scalar_one() == "closed"
        assert conn.execute(text("SELECT sum(amount) FROM transactions WHERE loan_id = :l "
                                 "AND transaction_type = 'recovery'"), {"l": gone}).scalar_one() == Decimal("300.00")
