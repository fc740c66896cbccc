"""Every front desk screen at 80×24 and 120×40, on a fixed book of loans, a pinned day and theme."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.pilot import Pilot

from astrofin_tui.app import AstrofinApp
from db.engine import Actor
from db.repositories.auth import with_branch
from db.repositories.customers import CustomerRepository
from db.repositories.loans import LoanApplication, LoanDetail, LoanRepository, LoanTerms
from db.repositories.payments import PaymentRepository
from db.validation import CustomerInput
from tests.tui.conftest import TODAY, settle
from tests.tui.front import front_app, make_late_loan, press, sign_in, type_into
from widgets.status import ConnectionBanner

SnapCompare = Callable[..., bool]
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


@pytest.fixture
def book(engine: Engine, actors: dict[str, Actor]) -> dict[str, LoanDetail]:
    """The same small book every time: a loan with a partial payment, two late loans, an application."""
    officer = CustomerRepository(engine, actors["officer"])
    wanjiku = officer.create(CustomerInput(first_name="Wanjiku", last_name="Kamau", phone="+254712000001",
                                           national_id="2345678", email="wanjiku@example.com",
                                           occupation="Market trader", address="Gikomba market, stall 14"),
                             today=TODAY)
    terms = LoanTerms(Decimal("10000.00"), Decimal("24.00"), "declining_balance", 12, "monthly")
    start = TODAY - timedelta(days=40)
    loans = LoanRepository(engine, actors["officer"])
    paying = loans.apply(LoanApplication(wanjiku.id, terms, "Stock for the stall"), today=start)
    LoanRepository(engine, actors["supervisor"]).approve(paying.id)
    LoanRepository(engine, actors["cashier"]).disburse(paying.id, start, start + timedelta(days=30))
    PaymentRepository(engine, actors["cashier"]).record(paying.id, Decimal("500.00"), TODAY - timedelta(days=5),
                                                        "snapshot-payment-1")
    pending = loans.apply(LoanApplication(wanjiku.id, LoanTerms(Decimal("25000.00"), Decimal("20.00"), "flat", 24,
                                                                "monthly"), "A second stall"), today=TODAY)
    late = make_late_loan(engine, actors, "Otieno", "Ochieng", days_late=12)
    later = make_late_loan(engine, actors, "Achieng", "Atieno", days_late=47, principal="35000.00")
    return {"paying": LoanRepository(engine, actors["cashier"]).get(paying.id), "pending": pending, "late": late,
            "later": later}


def _steps(username: str, actors: dict[str, Actor],
           *steps: Callable[[Pilot[Any]], Awaitable[None]]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, actors[username])
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
    return front_app(app_engine, access_log)


@SIZES
def test_supervisor_home_with_pending_applications(snap_compare: SnapCompare, app_engine: Engine,
                                                   access_log: Path, actors: dict[str, Actor],
                                                   book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("supervisor", actors)
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_customer_lookup(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                         book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("cashier", actors, keys("f2"), typed("#search", "ieno"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_customer_detail(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                         book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("officer", actors, keys("f2"), typed("#search", "Wanjiku"), keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_customer_form_with_errors(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                                   actors: dict[str, Actor], book: dict[str, LoanDetail],
                                   size: tuple[int, int]) -> None:
    run_before = _steps("officer", actors, keys("f5"), typed("#first_name", "Amani"), typed("#phone", "0712 abc"),
                        typed("#date_of_birth", "2030-01-01"), keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_loan_application(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                          actors: dict[str, Actor], book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("officer", actors, keys("f6"), typed("#customer", "C-000001"), keys("enter"),
                        typed("#principal", "10,000"), typed("#purpose", "Sewing machine"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_loan_detail(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                     book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("supervisor", actors, keys("f7"), typed("#find", book["paying"].loan_number),
                        keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_loan_detail_pending(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                             actors: dict[str, Actor], book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("supervisor", actors, keys("f7"), typed("#find", book["pending"].loan_number),
                        keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_payment_entry(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                       book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("cashier", actors, keys("f3"), typed("#find", book["late"].loan_number), keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_payment_confirmation(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                              actors: dict[str, Actor], book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("cashier", actors, keys("f3"), typed("#find", book["later"].loan_number), keys("enter"),
                        typed("#amount", "7,000"), keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_receipt(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                 book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("cashier", actors, keys("f3"), typed("#find", book["late"].loan_number), keys("enter"),
                        typed("#amount", "1,200"), keys("enter", "y"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_overdue_queue(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                       book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    # Signed in as sign-in makes the supervisor: with the head office as their branch, shown in the selector.
    staff = {"supervisor": with_branch(app_engine, actors["supervisor"])}
    run_before = _steps("supervisor", staff, keys("f4"), keys("space"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_reject_reason(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                       book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    run_before = _steps("supervisor", actors, keys("f7"), typed("#find", book["pending"].loan_number),
                        keys("enter", "r"), keys("enter"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_idle_lock(snap_compare: SnapCompare, app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                   book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    async def lock(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, AstrofinApp)
        app.lock()
        await settle(pilot)

    run_before = _steps("cashier", actors, keys("f2"), typed("#search", "Wanjiku"), lock)
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


@SIZES
def test_connection_banner(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                           actors: dict[str, Actor], book: dict[str, LoanDetail], size: tuple[int, int]) -> None:
    async def lost(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        screen.query_one(ConnectionBanner).lost()
        screen.status.say("Waiting for the database…", kind="error")  # type: ignore[attr-defined]
        await settle(pilot)

    run_before = _steps("officer", actors, keys("f5"), typed("#first_name", "Amani"), typed("#last_name", "Otieno"),
                        lost)
    assert snap_compare(_app(app_engine, access_log), terminal_size=size, run_before=run_before)


def test_payment_entry_by_mpesa(snap_compare: SnapCompare, app_engine: Engine, access_log: Path,
                                actors: dict[str, Actor], book: dict[str, LoanDetail]) -> None:
    """M-Pesa chosen on the form: the reference field shows, with the receipt number typed."""
    async def mpesa(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#method").focus()
        await press(pilot, "m")

    run_before = _steps("cashier", actors, keys("f3"), typed("#find", book["late"].loan_number), keys("enter"),
                        typed("#amount", "1,200"), mpesa, typed("#reference", "QK7ABC123"))
    assert snap_compare(_app(app_engine, access_log), terminal_size=(80, 24), run_before=run_before)
