"""What staff read: statuses and transaction types in words, one date format on screen and on the receipt,
and day-first dates typed into every date field."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.loans import LoanRepository
from db.repositories.payments import PaymentRepository
from screens.customer_detail import CustomerDetailScreen
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from screens.output import receipt_text
from screens.payment_entry import PaymentEntryScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import front_app, make_late_loan, make_new_loan, press, sign_in, type_into

RAW = re.compile(r"\b(written_off|WRITTEN_OFF|write_off|WRITE_OFF|declining_balance|biweekly|active|pending|"
                 r"partial|repayment|disbursement|\d{4}-\d{2}-\d{2})\b")


def screen_text(app: AstrofinApp) -> str:
    """Every character on the terminal, line by line (read from the screenshot Textual would save)."""
    svg = app.export_screenshot()
    lines: dict[int, list[tuple[float, str]]] = {}
    for x, line, chunk in re.findall(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                                    r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>', svg):
        lines.setdefault(int(line), []).append((float(x), html.unescape(chunk).replace("\xa0", " ")))
    return "\n".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(lines.items()))


def _raw_codes(app: AstrofinApp) -> list[str]:
    return RAW.findall(screen_text(app))


def test_a_written_off_loan_reads_in_words(app_engine: Engine, engine: Engine, access_log: Path,
                                           actors: dict[str, Actor]) -> None:
    loan = make_late_loan(engine, actors, "Otieno", "Ochieng", days_late=100)
    PaymentRepository(engine, actors["cashier"]).record(loan.id, Decimal("500.00"), TODAY - timedelta(days=50),
                                                        "words-payment-1")
    LoanRepository(engine, actors["supervisor"]).write_off(loan.id, "moved away, no contact", TODAY)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(120, 40)) as pilot:
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f7", *loan.loan_number, "enter")
            assert isinstance(app.screen, LoanDetailScreen) and app.screen.loan is not None
            text = screen_text(app)
            assert "Written off" in text and "Write-off" in text and "Repayment" in text
            assert "declining balance" in text and "12 installments, monthly" in text
            assert "Partly paid" in text or "Overdue" in text
            assert _raw_codes(app) == [], text
            assert format_check(text)

            await press(pilot, "escape", "f2", *"Otieno", "enter")
            assert isinstance(app.screen, CustomerDetailScreen)
            assert "Written off" in screen_text(app)
            assert _raw_codes(app) == []

    run(scenario())


def format_check(text: str) -> bool:
    """Dates on screen read '10 Mar 2025'."""
    return bool(re.search(r"\b\d{2} [A-Z][a-z]{2} \d{4}\b", text))


def test_payment_entry_and_its_confirmation_read_in_words_and_one_date_format(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    loan = make_late_loan(engine, actors, "Achieng", "Atieno", days_late=40)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3")
            screen = app.screen
            assert isinstance(screen, PaymentEntryScreen)
            await type_into(pilot, "#find", loan.loan_number)
            await press(pilot, "enter")
            assert screen.query_one("#payment_date").value == "10/03/2025"  # type: ignore[attr-defined]
            assert "Active" in screen_text(app) and _raw_codes(app) == []
            await type_into(pilot, "#amount", "1,500")
            await press(pilot, "enter")
            text = screen_text(app)
            assert "Pay KES 1,500.00 on 10 Mar 2025" in text
            assert "Paid" in text and "Partly paid" in text
            assert _raw_codes(app) == [], text

    run(scenario())


def test_the_receipt_shows_the_day_as_everywhere_else(engine: Engine, actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Kiprono", "Langat", disbursed=TODAY - timedelta(days=3))
    receipt = PaymentRepository(engine, actors["cashier"]).record(loan.id, Decimal("300.00"), TODAY,
                                                                  "words-receipt-1")
    text = receipt_text(receipt)
    assert "10 Mar 2025" in text and "2025-03-10" not in text


def test_day_first_dates_are_taken_in_every_date_field(app_engine: Engine, engine: Engine, access_log: Path,
                                                       actors: dict[str, Actor]) -> None:
    loan = make_new_loan(engine, actors, "Kiprono", "Langat", disbursed=TODAY - timedelta(days=3))

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            await type_into(pilot, "#first_name", "Amani")
            await type_into(pilot, "#last_name", "Otieno")
            await type_into(pilot, "#date_of_birth", "10/03/1990")
            await press(pilot, "enter")
            assert isinstance(app.screen, CustomerDetailScreen), app.screen
            assert "10 Mar 1990" in screen_text(app)

            await press(pilot, "a")
            form = app.screen
            assert isinstance(form, LoanApplicationScreen)
            await type_into(pilot, "#principal", "5000")
            await type_into(pilot, "#first_repayment_date", "06/04/2025")
            schedule_text = screen_text(app)
            assert "06 Apr 2025" in schedule_text, schedule_text

            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f3", *loan.loan_number, "enter")
            entry = app.screen
            assert isinstance(entry, PaymentEntryScreen)
            await type_into(pilot, "#amount", "100")
            await type_into(pilot, "#payment_date", "8/3/2025")
            await press(pilot, "enter", "y")
            await press(pilot)

    run(scenario())
    with engine.connect() as conn:
        born = conn.execute(text("SELECT date_of_birth FROM customers WHERE first_name = 'Amani'")).scalar_one()
        paid = conn.execute(text("SELECT transaction_date FROM transactions WHERE transaction_type = 'repayment'"))
        assert born == date(1990, 3, 10)
        assert [row[0] for row in paid] == [date(2025, 3, 8)]

