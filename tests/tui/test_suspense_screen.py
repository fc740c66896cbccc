"""The M-Pesa suspense screen as a supervisor drives it: refusals beside their fields (an unknown loan, a loan that
owes less than the receipt, an empty refund reference), then one receipt applied to a loan and another refunded,
each leaving the list with a one-line notice, the journal balanced; and its snapshot at 80×24. (A cashier cannot
open it: tests/tui/test_gate.py tries every screen's key, the palette and the app's open call for every role.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.pilot import Pilot
from textual.widgets import Input, Static

from db.engine import Actor
from db.permissions import may_open
from db.repositories.auth import with_branch
from db.repositories.loans import LoanDetail
from db.repositories.mobile_money import MobileMoneyReceipt, MobileMoneyRepository
from screens.suspense import ApplyDialog, RefundDialog, SuspenseScreen
from tests.tui.conftest import run, settle
from tests.tui.front import front_app, make_late_loan, press, sign_in, type_into
from widgets.fields import FieldRow
from widgets.tables import PageTable

SnapCompare = Callable[..., bool]
PAID = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)


def _suspense(engine: Engine, actor: Actor, number: str, amount: str, account: str, minutes: int, name: str) -> int:
    """A callback receipt that matches no loan: it lands in suspense (Dr 1150 / Cr 2100)."""
    repo = MobileMoneyRepository(engine, actor)
    got = repo.receive(MobileMoneyReceipt(number, PAID + timedelta(minutes=minutes), Decimal(amount), "254712000009",
                                          name, account, "600000", {"TransID": number}, "callback"))
    posting = repo.post(got.receipt_id)
    assert posting.status == "suspense", posting
    return got.receipt_id


@pytest.fixture
def queue(engine: Engine, actors: dict[str, Actor]) -> dict[str, LoanDetail]:
    big = make_late_loan(engine, actors, "Wanjiru", "Njoroge", days_late=12, principal="10000.00")
    small = make_late_loan(engine, actors, "Otieno", "Ouma", days_late=12, principal="1000.00")
    _suspense(engine, actors["supervisor"], "RKA1111111", "500.00", "L-99X", 0, "AMINA HASSAN")
    _suspense(engine, actors["supervisor"], "RKB2222222", "2000.00", "NOPE 12", 5, "PETER KAMAU")
    return {"big": big, "small": small}


@pytest.fixture
def queue_ids(engine: Engine, actors: dict[str, Actor], queue: dict[str, LoanDetail]) -> dict[str, int]:
    """A third receipt, the oldest: it is resolved behind the screen's back."""
    return {"RKC3333333": _suspense(engine, actors["supervisor"], "RKC3333333", "75.00", "", -30, "")}


def _field_error(screen: Any, name: str) -> str:
    return str(screen.query_one(f"#field-{name}", FieldRow).message)


async def fill(pilot: Pilot[Any], selector: str, value: str) -> None:
    """A long field filled at once (typing it key by key would only make the test slower)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = value
    await settle(pilot)


def _journal_unbalanced(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("""
            SELECT count(*) FROM (SELECT journal_entry_id FROM journal_entry_details GROUP BY journal_entry_id
                                  HAVING sum(debit) <> sum(credit)) x""")).scalar_one())


def _status(engine: Engine, number: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM mobile_money_receipts WHERE receipt_number = :n"),
                                {"n": number}).scalar_one())


def test_only_the_supervisor_and_the_accountant_keep_the_queue() -> None:
    assert {role for role in ("cashier", "loan_officer", "supervisor", "accountant", "admin")
            if may_open(role, "mobile_money_suspense")} == {"supervisor", "accountant"}


def test_apply_and_refund_from_the_queue(app_engine: Engine, engine: Engine, access_log: Path,
                                         actors: dict[str, Actor], queue: dict[str, LoanDetail],
                                         queue_ids: dict[str, int]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, with_branch(app_engine, actors["supervisor"]))
            await press(pilot, "ctrl+z")
            screen = app.screen
            assert isinstance(screen, SuspenseScreen)
            table = screen.query_one("#queue", PageTable)
            assert [r.receipt_number for r in screen.rows] == ["RKB2222222", "RKA1111111", "RKC3333333"]  # newest
            assert table.row_count == 3

            # Apply the 2,000.00: an unknown loan, then one that owes less, each refused beside the loan field.
            await press(pilot, "a")
            dialog = app.screen
            assert isinstance(dialog, ApplyDialog)
            assert dialog.query_one("#find", Input).value == "NOPE 12"  # the account reference as sent
            await type_into(pilot, "#find", "L-999999")
            await press(pilot, "enter")
            assert "no loan numbered L-999999" in _field_error(dialog, "find")
            await type_into(pilot, "#find", queue["small"].loan_number)
            await press(pilot, "enter")
            assert "owes only KES 1," in _field_error(dialog, "find")
            assert "less than the KES 2,000.00 in suspense" in _field_error(dialog, "find")
            await press(pilot, "ctrl+s")
            assert app.screen is dialog  # nothing applied
            await type_into(pilot, "#find", queue["big"].loan_number)
            await press(pilot, "enter")
            assert _field_error(dialog, "find") == ""
            assert "owes" in str(dialog.query_one("#owes", Static).content)
            await press(pilot, "ctrl+s")
            assert _field_error(dialog, "note") != ""  # why, in a few words
            await fill(pilot, "#note", "customer called: typed the wrong account")
            await press(pilot, "enter")
            assert app.screen is screen
            assert [r.receipt_number for r in screen.rows] == ["RKA1111111", "RKC3333333"]
            notice = screen.status.text
            assert f"RKB2222222 applied to {queue['big'].loan_number}: repayment receipt" in notice
            assert "2,000.00" in notice

            # Refund the 500.00: the reversal code is required, beside its field.
            await press(pilot, "f")
            dialog = app.screen
            assert isinstance(dialog, RefundDialog)
            await fill(pilot, "#note", "paid to the wrong paybill")
            await press(pilot, "ctrl+s")
            assert "reversal code" in _field_error(dialog, "reference")
            await type_into(pilot, "#reference", "rkr9xy12ab")
            await press(pilot, "ctrl+s")
            assert app.screen is screen
            assert [r.receipt_number for r in screen.rows] == ["RKC3333333"]
            assert "RKA1111111: refund RKR9XY12AB of KES 500.00 recorded." in screen.status.text

            # Resolved at another desk while it was on this screen: refused, said so, and it leaves the list.
            MobileMoneyRepository(app_engine, actors["accountant"]).refund(queue_ids["RKC3333333"], "RKR000", "x")
            await press(pilot, "f")
            await fill(pilot, "#reference", "RKR111")
            await fill(pilot, "#note", "sent back")
            await press(pilot, "ctrl+s")
            assert app.screen is screen
            assert screen.rows == [] and table.row_count == 0
            assert "is refunded, not in suspense" in screen.status.text

    run(scenario())
    assert _status(engine, "RKB2222222") == "applied" and _status(engine, "RKA1111111") == "refunded"
    assert _journal_unbalanced(engine) == 0
    with engine.connect() as conn:
        suspense_left = conn.execute(text("""
            SELECT coalesce(sum(d.credit - d.debit), 0) FROM journal_entry_details d
            JOIN chart_of_accounts a ON a.id = d.account_id WHERE a.account_code = '2100'""")).scalar_one()
        taken = conn.execute(text("""
            SELECT amount, payment_method FROM transactions
            WHERE loan_id = :l AND transaction_type = 'repayment' ORDER BY id DESC LIMIT 1"""),
                             {"l": queue["big"].id}).one()
    assert suspense_left == Decimal("0.00")  # both left suspense: nothing waits in 2100
    assert (taken.amount, taken.payment_method) == (Decimal("2000.00"), "mobile_money")


def test_suspense_snapshot(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                           actors: dict[str, Actor], queue: dict[str, LoanDetail]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, with_branch(app_engine, actors["supervisor"]))
        await press(pilot, "ctrl+z")
        await settle(pilot)

    assert snap_compare(front_app(app_engine, access_log), terminal_size=(80, 24), run_before=run_before)
