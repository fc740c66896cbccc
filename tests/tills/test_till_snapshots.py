"""The till screens at 80×24 on a fixed day, with the sessions' and payments' times pinned: the close screen
mid-count, the supervisor's overview with a count waiting for approval, a till sheet, and the payment form
with M-Pesa chosen is with the front desk's snapshots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.payments import PaymentRepository, new_idempotency_key
from db.repositories.tills import TillRepository
from tests.tills.book import TillBook
from tests.tills.screens import pin_times, till_app
from tests.tui.conftest import TODAY, settle
from tests.tui.front import press, sign_in, type_into

SnapCompare = Callable[..., bool]
SIZE = (80, 24)


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def _day(book: TillBook, *, close: bool) -> int:
    """The cashier's till T1 with a float of 5,000, two cash repayments and one by M-Pesa; counted 20 short
    when `close`, with the other cashier's till T2 open beside it. Returns the session's id."""
    nrb, app = book.nrb, book.app
    tills = TillRepository(app, nrb.staff["cashier"])
    session = tills.open(nrb.tills["T1"], Decimal("5000.00"))
    payments = PaymentRepository(app, nrb.staff["cashier"])
    today = date.today()
    payments.record(nrb.loans[0], Decimal("1200.00"), today, new_idempotency_key())
    payments.record(nrb.loans[1], Decimal("800.00"), today, new_idempotency_key())
    payments.record(nrb.loans[2], Decimal("650.00"), today, new_idempotency_key(), method="mobile_money",
                    reference="QK7ABC123")
    if close:
        tills.close(session.id, Decimal("6980.00"), "a coin short in the change tray",
                    {"1000": "6", "500": "1", "200": "2", "50": "1", "20": "1", "10": "1", "other": "0.00"})
        TillRepository(app, nrb.staff["cashier2"]).open(nrb.tills["T2"], Decimal("3000.00"))
    pin_times(book.owner, TODAY)
    return session.id


def _steps(actor: Actor, *steps: Callable[[Pilot[Any]], Awaitable[None]]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, actor)
        for step in steps:
            await step(pilot)
        await settle(pilot)

    return run_before


def keys(*names: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def step(pilot: Pilot[Any]) -> None:
        await press(pilot, *names)

    return step


def typed(selector: str, value: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def step(pilot: Pilot[Any]) -> None:
        await type_into(pilot, selector, value)

    return step


def _app(app_engine: Engine, access_log: Path) -> AstrofinApp:
    return till_app(app_engine, access_log, today=lambda: TODAY)


def test_close_screen(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                      till_book: TillBook) -> None:
    _day(till_book, close=False)
    run_before = _steps(till_book.nrb.staff["cashier"], keys("c"), typed("#n1000", "6"), typed("#n500", "1"),
                        typed("#n200", "2"), typed("#n20", "x"), typed("#other", "0.5"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=SIZE, run_before=run_before)


def test_till_overview(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                       till_book: TillBook) -> None:
    _day(till_book, close=True)
    run_before = _steps(till_book.nrb.staff["supervisor"], keys("ctrl+t"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=SIZE, run_before=run_before)


def test_till_sheet(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                    till_book: TillBook) -> None:
    _day(till_book, close=True)
    run_before = _steps(till_book.nrb.staff["supervisor"], keys("ctrl+t"), keys("s"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=SIZE, run_before=run_before)
