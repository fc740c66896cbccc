"""The whole branch day through the screens, each step by the role that does it, on the real database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text
from textual.widgets import Input

from db.engine import Actor
from screens.confirm import ConfirmScreen
from screens.customer_detail import CustomerDetailScreen
from screens.customer_form import CustomerFormScreen
from screens.disburse_dialog import DisburseDialog
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.overdue_queue import OverdueQueueScreen
from screens.payment_entry import PaymentEntryScreen
from screens.receipt import ReceiptScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, make_late_loan, press, sign_in, type_into
from widgets.tables import PageTable, ScheduleTable


def test_the_branch_day_end_to_end(app_engine: Engine, engine: Engine, access_log: Path,
                                   actors: dict[str, Actor]) -> None:
    late = make_late_loan(engine, actors, "Baraka", "Kilonzo", days_late=12)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            # The officer creates the customer …
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            assert isinstance(app.screen, CustomerFormScreen)
            await type_into(pilot, "#first_name", "Amani")
            await type_into(pilot, "#last_name", "O'Neil")
            await type_into(pilot, "#phone", "+254 711 222 333")
            await type_into(pilot, "#national_id", "12345678")
            await type_into(pilot, "#date_of_birth", "1990-05-01")
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerDetailScreen), app.screen.query_one("#status").content
            customer = app.screen.detail
            assert customer is not None and customer.data.phone == "+254711222333"

            # … and the application, watching the schedule preview follow the terms.
            await press(pilot, "a")
            assert isinstance(app.screen, LoanApplicationScreen)
            await type_into(pilot, "#principal", "10,000")
            schedule = app.screen.query_one("#schedule", ScheduleTable)
            assert schedule.row_count == 12
            assert [str(c) for c in schedule.get_row_at(0)][2:6] == ["945.60", "9,254.40", "745.60", "200.00"]
            await type_into(pilot, "#term", "6")
            assert schedule.row_count == 6
            await type_into(pilot, "#term", "12")
            await type_into(pilot, "#purpose", "Stock for the shop")
            await press(pilot, "enter")
            assert isinstance(app.screen, LoanDetailScreen), app.screen.query_one("#status").content
            loan = app.screen.loan
            assert loan is not None and loan.status == "pending" and loan.created_by == actors["officer"].user_id
            loan_number = loan.loan_number

            # The supervisor approves it.
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f7")
            assert isinstance(app.screen, LoanDetailScreen)
            await type_into(pilot, "#find", loan_number)
            await press(pilot, "enter")
            assert app.screen.loan is not None and app.screen.loan.status == "pending"
            await press(pilot, "a")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert app.screen.loan.status == "approved"

            # The supervisor's own application: approving it is refused, and it stays pending.
            await press(pilot, "escape")
            await press(pilot, "f2")
            await type_into(pilot, "#search", "Amani")
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerDetailScreen)
            await press(pilot, "a")
            await type_into(pilot, "#principal", "5000")
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)  # the first loan is in play: a warning, not a refusal
            assert loan_number in "\n".join(app.screen.lines)
            await press(pilot, "y")
            assert isinstance(app.screen, LoanDetailScreen)
            own = app.screen.loan
            assert own is not None and own.created_by == actors["supervisor"].user_id
            await press(pilot, "a")
            await press(pilot, "y")
            status = str(app.screen.query_one("#status").content)
            assert app.screen.loan.status == "pending"
            assert "created" in status.lower() or "own" in status.lower(), status

            # The cashier disburses and takes two payments, the first one partial.
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f7")
            await type_into(pilot, "#find", loan_number)
            await press(pilot, "enter")
            await press(pilot, "d")
            assert isinstance(app.screen, DisburseDialog)  # cash, the default, from the head office's counter
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen)  # the disbursement receipt follows
            assert "Cash paid out" in str(app.screen.query_one("#receipt").content)
            await press(pilot, "escape")
            loan = app.screen.loan
            assert loan.status == "active" and loan.disbursement_date == TODAY and len(loan.schedule) == 12
            await press(pilot, "p")
            assert isinstance(app.screen, PaymentEntryScreen)
            assert app.screen.query_one("#amount", Input).value == "945.60"
            await type_into(pilot, "#amount", "500")
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)
            body = str(app.screen.query_one("#dialog-body").content)
            assert "200.00" in body and "300.00" in body and "Partly paid" in body
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen)
            first = app.screen.receipt
            assert first is not None
            assert (first.amount, first.interest, first.principal, first.penalty) == (
                Decimal("500.00"), Decimal("200.00"), Decimal("300.00"), Decimal("0.00"))
            total_due = sum((row.total_due for row in loan.schedule), Decimal("0"))
            assert first.balance_after == total_due - Decimal("500.00")
            receipt_text = str(app.screen.query_one("#receipt").content)
            assert first.receipt_number in receipt_text and "300.00" in receipt_text
            await press(pilot, "escape")
            assert isinstance(app.screen, PaymentEntryScreen)

            # The second payment: found by the customer's name, the rest of the first installment.
            await type_into(pilot, "#find", "Amani")
            await press(pilot, "enter")
            assert app.screen.due is not None and app.screen.due.loan_number == loan_number
            assert app.screen.query_one("#amount", Input).value == "445.60"
            await press(pilot, "enter")
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen)
            second = app.screen.receipt
            assert second is not None and second.principal == Decimal("445.60") and second.interest == 0
            assert second.balance_after == total_due - Decimal("945.60")
            assert second.receipt_number != first.receipt_number
            await press(pilot, "escape", "escape")

            # The supervisor's overdue queue shows the late loan; a reminder lands in sms_histories.
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f4")
            assert isinstance(app.screen, OverdueQueueScreen)
            table = app.screen.query_one("#queue", PageTable)
            assert table.row_count == 1
            assert [str(c) for c in table.get_row_at(0)][1:5] == [late.loan_number, "Baraka Kilonzo", "+254712345678",
                                                                 "12"]
            await press(pilot, "space", "m")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert "Queued 1 reminder" in str(app.screen.query_one("#status").content)

    run(scenario())
    with engine.connect() as conn:
        payments = conn.execute(text("SELECT amount FROM transactions WHERE transaction_type = 'repayment' "
                                     "ORDER BY id")).scalars().all()
        assert payments == [Decimal("500.00"), Decimal("445.60")]
        sms = conn.execute(text("SELECT loan_id, phone_number, status FROM sms_histories")).all()
        assert [(row.loan_id, row.phone_number) for row in sms] == [(late.id, "+254712345678")]
    assert count(engine, "SELECT count(*) FROM loans WHERE status = 'pending'") == 1
