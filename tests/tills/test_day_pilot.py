"""A cashier's whole day through the screens, in a branch that requires tills: open with a float of 5,000, take
three cash repayments and one by M-Pesa, pay a loan out in cash, count the drawer 50 short, and a supervisor
approves; then the books: the float from the vault, the payments on cash and M-Pesa clearing, the count back
to the vault and the 50 to cash over and short, a trial balance that nets to zero, and a till sheet whose
figures are the books'."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.app import App
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Static

from db.repositories.accounting import AccountingRepository
from db.repositories.tills import TillRepository
from screens.confirm import ConfirmScreen
from screens.disburse_dialog import DisburseDialog
from screens.home import HomeScreen
from screens.loan_detail import LoanDetailScreen
from screens.output import till_sheet_text
from screens.payment_entry import PaymentEntryScreen
from screens.receipt import ReceiptScreen
from screens.till_close import TillCloseScreen
from screens.till_dialogs import OpenTillDialog
from screens.till_overview import TillOverviewScreen
from screens.till_sheet import TillSheetScreen
from tests.tills.book import TillBook
from tests.tills.screens import approved_loan, loan_number, till_app
from tests.tui.conftest import run
from tests.tui.front import press, sign_in, type_into

CASH = ("1000.00", "1500.00", "2000.00")
MPESA = "700.00"


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def shown(app: App[Any], selector: str) -> str:
    """What a Static shows, without its markup."""
    return Content.from_markup(str(app.screen.query_one(selector, Static).content)).plain


def entries(engine: Engine, after: int) -> list[dict[str, Decimal]]:
    """Each journal entry after `after`, as account code → debit − credit."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT e.id, a.account_code, sum(d.debit - d.credit) AS net
            FROM journal_entries e JOIN journal_entry_details d ON d.journal_entry_id = e.id
            JOIN chart_of_accounts a ON a.id = d.account_id
            WHERE e.id > :after GROUP BY e.id, a.account_code ORDER BY e.id
        """), {"after": after}).all()
    found: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        found.setdefault(row.id, {})[row.account_code] = row.net
    return list(found.values())


async def pay(pilot: Pilot[Any], loan_number: str, amount: str, *, mpesa: str | None = None) -> str:
    """One repayment through payment entry; returns the receipt's text, back on the empty form."""
    app = pilot.app
    assert isinstance(app.screen, PaymentEntryScreen)
    await type_into(pilot, "#find", loan_number)
    await press(pilot, "enter")
    await type_into(pilot, "#amount", amount)
    if mpesa:
        app.screen.query_one("#method").focus()
        await press(pilot, "m")
        assert app.screen.query_one("#field-reference").display
        await type_into(pilot, "#reference", mpesa)
    await press(pilot, "enter")
    assert isinstance(app.screen, ConfirmScreen), shown(app, "#status")
    await press(pilot, "y")
    assert isinstance(app.screen, ReceiptScreen), app.screen
    receipt = shown(app, "#receipt")
    await press(pilot, "escape")
    return receipt


def test_a_cashiers_day_through_the_screens(app_engine: Engine, engine: Engine, access_log: Path,
                                            till_book: TillBook) -> None:
    nrb = till_book.nrb
    staff = nrb.staff
    today = date.today()
    payable = [loan_number(app_engine, nrb, loan) for loan in nrb.loans]
    to_pay_out = approved_loan(app_engine, nrb)
    with engine.connect() as conn:
        before = int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM journal_entries")).scalar_one())

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await sign_in(pilot, staff["cashier"])
            assert isinstance(app.screen, HomeScreen)
            assert "No till open · o open till" in shown(app, "#till-line")

            # Cash is refused before the till is open: one line on the form, what was typed kept.
            await press(pilot, "f3")
            await type_into(pilot, "#find", payable[0])
            await press(pilot, "enter")
            await type_into(pilot, "#amount", "100")
            await press(pilot, "enter", "y")
            assert isinstance(app.screen, PaymentEntryScreen)
            assert "open your till" in app.screen.status.text.lower()
            assert app.screen.query_one("#amount", Input).value == "100"
            await press(pilot, "ctrl+f", "escape")
            assert isinstance(app.screen, HomeScreen)

            # o: the dialog offers T1, the float is typed, the till opens.
            await press(pilot, "o")
            assert isinstance(app.screen, OpenTillDialog)
            await type_into(pilot, "#open-float", "5,000")
            await press(pilot, "enter")
            assert isinstance(app.screen, HomeScreen)
            line = shown(app, "#till-line")
            assert "Till T1" in line and "float 5,000.00" in line and "0 receipts" in line, line

            # Three cash repayments and one by M-Pesa.
            await press(pilot, "f3")
            for loan, amount in zip(payable, CASH, strict=False):
                receipt = await pay(pilot, loan, amount)
                assert "Paid by: Cash, till T1" in receipt, receipt
            receipt = await pay(pilot, payable[3], MPESA, mpesa="QK7ABC123")
            assert "Paid by: M-Pesa, ref QK7ABC123" in receipt, receipt
            await press(pilot, "escape")

            # The cash disbursement from the loan's screen.
            await press(pilot, "f7")
            await type_into(pilot, "#find", to_pay_out)
            await press(pilot, "enter")
            await press(pilot, "d")
            assert isinstance(app.screen, DisburseDialog)
            await press(pilot, "y")
            assert isinstance(app.screen, ReceiptScreen), shown(app, "#status")
            receipt = shown(app, "#receipt")
            assert "Cash paid out" in receipt and "Paid by: Cash, till T1" in receipt, receipt
            await press(pilot, "escape")
            assert isinstance(app.screen, LoanDetailScreen)
            await press(pilot, "escape")

            # Home again: the till line is read again and shows the day so far.
            assert isinstance(app.screen, HomeScreen)
            line = shown(app, "#till-line")
            assert "expected 6,500.00" in line and "3 receipts" in line, line

            # The count: six 1000s, two 200s and a 50: 6,450.00, 50 short.
            await press(pilot, "c")
            assert isinstance(app.screen, TillCloseScreen)
            await type_into(pilot, "#n1000", "6")
            await type_into(pilot, "#n200", "2")
            await type_into(pilot, "#n50", "1")
            figures = shown(app, "#figures-text")
            assert "6,450.00" in figures and "6,500.00" in figures and "Short 50.00" in figures, figures
            await press(pilot, "ctrl+s")
            assert "say why" in app.screen.query_one("#field-reason").message  # type: ignore[attr-defined]
            assert isinstance(app.screen, TillCloseScreen)
            await type_into(pilot, "#reason", "a 50 note given twice in change")
            await press(pilot, "enter")
            assert isinstance(app.screen, ConfirmScreen)
            body = shown(app, "#dialog-body")
            assert "6,500.00" in body and "6,450.00" in body and "-50.00" in body, body
            await press(pilot, "y")
            assert isinstance(app.screen, TillSheetScreen)
            assert "sent to a supervisor for approval" in app.screen.status.text
            await press(pilot, "escape")
            assert isinstance(app.screen, HomeScreen)

            # The supervisor approves in the till overview.
            await sign_in(pilot, staff["supervisor"])
            await press(pilot, "ctrl+t")
            assert isinstance(app.screen, TillOverviewScreen)
            assert app.screen.chosen() is not None and app.screen.chosen().status == "pending_approval"
            await press(pilot, "a")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert isinstance(app.screen, TillOverviewScreen)
            assert "approved" in app.screen.status.text, app.screen.status.text
            assert app.screen.chosen().status == "closed"  # type: ignore[union-attr]

    run(scenario())

    # The books.
    day = entries(engine, before)
    opening = {"1000": Decimal("5000.00"), "1050": Decimal("-5000.00")}
    assert day[0] == opening
    cash_in = [e for e in day if e.get("1000", Decimal(0)) > 0 and "1050" not in e]
    assert sorted(e["1000"] for e in cash_in) == sorted(Decimal(a) for a in CASH)
    assert [e["1150"] for e in day if "1150" in e] == [Decimal(MPESA)]
    assert [e["1000"] for e in day if e.get("1000", Decimal(0)) < 0 and "1050" not in e] == [Decimal("-3000.00")]
    assert day[-1] == {"1000": Decimal("-6500.00"), "1050": Decimal("6450.00"), "5100": Decimal("50.00")}
    trial = AccountingRepository(engine, staff["accountant"]).trial_balance(today)
    assert trial.balances and trial.total_debit > 0

    # The till sheet is the books.
    sessions = TillRepository(engine, staff["supervisor"]).sessions(today)
    assert len(sessions) == 1
    sheet = TillRepository(engine, staff["supervisor"]).sheet(sessions[0].id)
    s = sheet.session
    assert (s.opening_float, s.cash_in, s.cash_out) == (Decimal("5000.00"), Decimal("4500.00"), Decimal("3000.00"))
    assert (s.expected_cash, s.counted_cash, s.difference) == (Decimal("6500.00"), Decimal("6450.00"),
                                                               Decimal("-50.00"))
    assert s.opening_float == -opening["1050"]
    assert s.cash_in == sum(e["1000"] for e in cash_in)
    assert s.counted_cash == day[-1]["1050"] and -s.difference == day[-1]["5100"]  # type: ignore[operator]
    assert s.expected_cash == -day[-1]["1000"]
    assert s.status == "closed" and s.approved_by_name == staff["supervisor"].full_name
    receipts = [line for line in sheet.lines if line.kind == "receipt"]
    payouts = [line for line in sheet.lines if line.kind == "payout"]
    assert sorted(line.cash_in for line in receipts) == sorted(Decimal(a) for a in CASH)
    assert [line.cash_out for line in payouts] == [Decimal("3000.00")]
    assert sheet.denominations is not None and sheet.denominations["1000"] in ("6", 6)

    # And printed as a receipt is, 40 columns: the same figures.
    printed = till_sheet_text(sheet).splitlines()
    assert all(len(line) <= 40 for line in printed)
    for label, amount in (("Opening float", "5,000.00"), ("Cash in", "4,500.00"), ("Cash out", "3,000.00"),
                          ("Expected", "6,500.00"), ("Counted", "6,450.00"), ("Short", "50.00")):
        assert any(line.startswith(label) and line.endswith(f"KES {amount}") for line in printed), (label, printed)
    assert sum(1 for line in printed if "NRB01-R-" in line) == 3
    assert any(line.startswith("  1000 x 6") and line.endswith("6,000.00") for line in printed)
    assert any(line.startswith("Approved by") and line.endswith(staff["supervisor"].full_name) for line in printed)
