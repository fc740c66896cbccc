"""The idle lock, receipts printed to a private file or a printer command, the overdue CSV, and the loan
actions behind their confirmations."""

from __future__ import annotations

import csv
import stat
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from textual.widgets import Input

from astrofin_tui.app import idle_lock_seconds_from
from db.engine import Actor
from db.repositories.payments import PaymentRepository
from screens.confirm import ConfirmScreen, ReasonScreen
from screens.customer_form import CustomerFormScreen
from screens.home import HomeScreen
from screens.loan_detail import LoanDetailScreen
from screens.lock import LockScreen
from screens.output import PRINTER_ENV, OutputError, print_receipt
from screens.overdue_queue import OverdueQueueScreen
from screens.receipt import ReceiptScreen
from tests.tui.conftest import TODAY, run
from tests.tui.front import count, front_app, make_late_loan, make_new_loan, press, sign_in, type_into
from widgets.tables import PageTable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_time_comes_from_the_setting() -> None:
    assert idle_lock_seconds_from({}) == 300
    assert idle_lock_seconds_from({"ASTROFIN_IDLE_LOCK_MINUTES": "2"}) == 120
    assert idle_lock_seconds_from({"ASTROFIN_IDLE_LOCK_MINUTES": "0"}) == 0
    assert idle_lock_seconds_from({"ASTROFIN_IDLE_LOCK_MINUTES": "soon"}) == 300


def test_idle_lock_keeps_the_screen_underneath_and_asks_for_the_password(
        app_engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        app = front_app(app_engine, access_log, clock=clock, idle_lock_seconds=300.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f5")
            form = app.screen
            assert isinstance(form, CustomerFormScreen)
            await type_into(pilot, "#first_name", "Half typed")

            clock.now += 299
            app.check_idle_lock()
            assert app.screen is form  # not yet
            clock.now += 1
            app.check_idle_lock()
            await pilot.pause()
            assert isinstance(app.screen, LockScreen)

            # Locked: no screen key, no palette, nothing reaches the form.
            await press(pilot, "f2")
            await press(pilot, "ctrl+p")
            assert isinstance(app.screen, LockScreen)
            await type_into(pilot, "#unlock-password", "officer-wrong")
            await press(pilot, "enter")
            assert isinstance(app.screen, LockScreen)
            assert "Wrong username or password" in app.screen.query_one("#field-password").message  # type: ignore

            await type_into(pilot, "#unlock-password", "officer-demo")
            await press(pilot, "enter")
            assert app.screen is form
            assert form.query_one("#first_name", Input).value == "Half typed"
            assert not app.locked

            # Typing counts as activity: the lock waits for a quiet spell again.
            clock.now += 200
            await press(pilot, "x")
            clock.now += 200
            app.check_idle_lock()
            assert app.screen is form

            # Signing out from the lock leaves nothing of the session.
            clock.now += 301
            app.check_idle_lock()
            await pilot.pause()
            assert isinstance(app.screen, LockScreen)
            await press(pilot, "ctrl+o")
            assert app.actor is None and not app.locked and len(app.screen_stack) == 2

    run(scenario())


def test_receipts_print_to_a_private_file_or_a_printer_command(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    loan = make_new_loan(engine, actors, "Njoki", "Mwangi")
    receipt = PaymentRepository(engine, actors["cashier"]).record(loan.id, Decimal("945.60"), TODAY, "print-1")
    monkeypatch.delenv(PRINTER_ENV, raising=False)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            # Reprint from the loan detail: the receipt loads by its transaction.
            await sign_in(pilot, actors["cashier"])
            await press(pilot, "f7")
            await type_into(pilot, "#find", loan.loan_number)
            await press(pilot, "enter", "tab", "down")
            assert isinstance(app.screen, LoanDetailScreen)
            await press(pilot, "c")
            assert isinstance(app.screen, ReceiptScreen)
            assert app.screen.receipt == receipt
            await press(pilot, "p")
            assert app.screen.printed is not None and "saved to" in app.screen.printed

    run(scenario())
    saved = list((Path.home() if False else _data_dir() / "receipts").glob("*.txt"))
    assert [p.name for p in saved] == [f"{receipt.receipt_number}.txt"]
    assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(saved[0].parent.stat().st_mode) == 0o700
    body = saved[0].read_text(encoding="utf-8")
    assert receipt.receipt_number in body and "KES 945.60" in body and "Njoki Mwangi" in body

    # A printer command gets the receipt on its standard input, run as a list (no shell).
    out = tmp_path / "printed.txt"
    script = tmp_path / "printer.py"
    script.write_text("import sys; open(sys.argv[1], 'w').write(sys.stdin.read())", encoding="utf-8")
    said = print_receipt(receipt, env={PRINTER_ENV: f"{sys.executable} {script} {out}"})
    assert "sent to the printer" in said and out.read_text(encoding="utf-8") == body
    with pytest.raises(OutputError, match="was not found"):
        print_receipt(receipt, env={PRINTER_ENV: "no-such-printer-command -d counter"})
    with pytest.raises(OutputError, match="refused the receipt"):
        print_receipt(receipt, env={PRINTER_ENV: f"{sys.executable} -c 'import sys; sys.exit(3)'"})
    marker = tmp_path / "shell-ran"
    print_receipt(receipt, env={PRINTER_ENV: f"{sys.executable} {script} {out}; touch {marker}"})
    assert not marker.exists()


def _data_dir() -> Path:
    from db.paths import data_dir

    return data_dir()


def test_loan_actions_each_behind_a_confirmation(app_engine: Engine, engine: Engine, access_log: Path,
                                                 actors: dict[str, Actor]) -> None:
    late = make_late_loan(engine, actors, "Omondi", "Odhiambo", days_late=100)
    paid = make_new_loan(engine, actors, "Nafula", "Wekesa")
    PaymentRepository(engine, actors["cashier"]).record(paid.id, Decimal("300.00"), TODAY, "reverse-me")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["supervisor"])
            await press(pilot, "f7")
            detail = app.screen
            assert isinstance(detail, LoanDetailScreen)

            # Reverse the cashier's payment: escape first (nothing happens), then with a reason.
            await type_into(pilot, "#find", paid.loan_number)
            await press(pilot, "enter", "tab", "down", "v")
            assert isinstance(app.screen, ReasonScreen)
            await press(pilot, "escape")
            assert app.screen is detail and count(engine, "SELECT count(*) FROM transactions "
                                                          "WHERE transaction_type = 'reversal'") == 0
            await press(pilot, "v")
            await type_into(pilot, "#reason", "Counted twice")
            await press(pilot, "enter")
            assert app.screen is detail
            assert detail.loan is not None and any(t.reversed for t in detail.loan.transactions)
            assert count(engine, "SELECT count(*) FROM transactions WHERE transaction_type = 'reversal'") == 1

            # Write off the late loan: n says no, then a reason writes it off.
            await type_into(pilot, "#find", late.loan_number)
            await press(pilot, "enter", "w")
            assert isinstance(app.screen, ReasonScreen)
            await type_into(pilot, "#reason", "Customer left the district")
            await press(pilot, "enter")
            assert detail.loan is not None and detail.loan.status == "written_off"

    run(scenario())


def test_overdue_queue_filters_pages_and_exports_csv(app_engine: Engine, engine: Engine, access_log: Path,
                                                     actors: dict[str, Actor]) -> None:
    for i, days in enumerate((5, 20, 40, 75, 120)):
        make_late_loan(engine, actors, "=cmd|' /C calc'!A0" if i == 0 else f"Late{chr(65 + i)}", "Customer",
                       days_late=days)

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["officer"])
            await press(pilot, "f4")
            queue = app.screen
            assert isinstance(queue, OverdueQueueScreen)
            table = queue.query_one("#queue", PageTable)
            assert [str(table.get_row_at(i)[4]) for i in range(table.row_count)] == ["120", "75", "40", "20", "5"]
            assert {str(table.get_row_at(i)[3]) for i in range(table.row_count)} == {"+254712345678"}

            queue.page_size = 2
            queue.load()
            await press(pilot)
            assert table.row_count == 2
            await press(pilot, "ctrl+n")
            assert [str(table.get_row_at(i)[4]) for i in range(table.row_count)] == ["40", "20"]
            await press(pilot, "ctrl+n")
            assert [str(table.get_row_at(i)[4]) for i in range(table.row_count)] == ["5"]
            await press(pilot, "ctrl+b", "ctrl+b")
            assert [str(table.get_row_at(i)[4]) for i in range(table.row_count)] == ["120", "75"]

            queue.query_one("#bucket").value = "31-60"  # type: ignore[attr-defined]
            await press(pilot)
            assert [str(table.get_row_at(i)[4]) for i in range(table.row_count)] == ["40"]
            queue.query_one("#bucket").clear()  # type: ignore[attr-defined]
            await press(pilot)

            await press(pilot, "x")
            text = str(queue.status.content)
            assert "Exported 5 loans" in text
            path = Path(text.split(" to ", 1)[1])
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            rows = list(csv.DictReader(path.open(encoding="utf-8")))
            assert [r["days_past_due"] for r in rows] == ["120", "75", "40", "20", "5"]
            assert rows[-1]["customer_name"].startswith("'=cmd")
            # A leading + starts a formula in a spreadsheet: the phone is written as text, its + kept.
            assert {r["phone"] for r in rows} == {"'+254712345678"}

            # Several selected: one confirmation, one reminder each.
            await press(pilot, "space", "down", "space", "m")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert "Queued 2 reminders" in str(queue.status.content)
            await press(pilot, "escape")
            assert isinstance(app.screen, HomeScreen)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM sms_histories") == 2
