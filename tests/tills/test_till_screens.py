"""The till screens refuse what cannot be right, beside the field, and write nothing: counts with letters,
negative or fractional counts, fractions of a cent in the loose coins, a difference with no reason; and a
supervisor cannot approve their own count. A cashier cannot open the till overview. A loan officer opens a field
session from home."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from textual.content import Content
from textual.widgets import Input, Select, Static

from db.repositories.tills import TillRepository
from screens.confirm import ConfirmScreen
from screens.home import HomeScreen
from screens.till_close import TillCloseScreen
from screens.till_dialogs import OpenTillDialog
from screens.till_overview import TillOverviewScreen
from tests.tills.book import TillBook
from tests.tills.screens import till_app
from tests.tui.conftest import notices, run
from tests.tui.front import count, press, sign_in, type_into
from widgets.fields import FieldRow


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


def message(screen: object, name: str) -> str:
    return screen.query_one(f"#field-{name}", FieldRow).message  # type: ignore[attr-defined]


def _plain(widget: Static) -> str:
    return Content.from_markup(str(widget.content)).plain


def closes(engine: Engine) -> int:
    return count(engine, "SELECT count(*) FROM till_sessions WHERE status <> 'open'")


def test_the_close_screen_refuses_bad_counts_beside_the_field(app_engine: Engine, engine: Engine,
                                                              access_log: Path, till_book: TillBook) -> None:
    cashier = till_book.nrb.staff["cashier"]
    TillRepository(app_engine, cashier).open(till_book.nrb.tills["T1"], Decimal("1000.00"))

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, cashier)
            await press(pilot, "c")
            screen = app.screen
            assert isinstance(screen, TillCloseScreen)
            # Enter moves down the fields, from the first note to the loose coins and the reason.
            assert app.focused is not None and app.focused.id == "n1000"
            await press(pilot, *["enter"] * 10)
            assert app.focused is not None and app.focused.id == "other"
            await press(pilot, "enter")
            assert app.focused is not None and app.focused.id == "reason"
            await type_into(pilot, "#n1000", "abc")
            assert "digits only" in message(screen, "n1000")
            await type_into(pilot, "#n500", "-2")
            assert "cannot be negative" in message(screen, "n500")
            await type_into(pilot, "#n20", "2.5")
            assert "whole coins only" in message(screen, "n20")
            await type_into(pilot, "#other", "0.505")
            assert "two decimals" in message(screen, "other")
            # While a count is refused there is no total to compare.
            assert "Counted" in str(screen.query_one("#figures-text", Static).content)
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, TillCloseScreen)
            for name in ("n1000", "n500", "n20", "other"):
                assert message(screen, name), name
            assert closes(engine) == 0

            # Fixed, but a difference with no reason: the reason is asked for beside its field.
            await type_into(pilot, "#n1000", "1")
            await type_into(pilot, "#n500", "")
            await type_into(pilot, "#n20", "")
            await type_into(pilot, "#other", "0.50")
            assert not message(screen, "n1000") and not message(screen, "other")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, TillCloseScreen)
            assert "say why" in message(screen, "reason")
            assert closes(engine) == 0
            # And the values typed are still there.
            assert screen.query_one("#n1000").value == "1"  # type: ignore[attr-defined]

            # Balanced: no reason needed; confirmed, the till closes.
            await type_into(pilot, "#other", "")
            await press(pilot, "ctrl+s")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert closes(engine) == 1

    run(scenario())
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, counted_cash, denominations FROM till_sessions")).one()
    assert row.status == "closed" and row.counted_cash == Decimal("1000.00")
    assert str(row.denominations["1000"]) == "1"


def test_a_supervisor_cannot_approve_their_own_count(app_engine: Engine, engine: Engine, access_log: Path,
                                                      till_book: TillBook) -> None:
    supervisor = till_book.nrb.staff["supervisor"]
    tills = TillRepository(app_engine, supervisor)
    session = tills.open(till_book.nrb.tills["T2"], Decimal("500.00"))
    tills.close(session.id, Decimal("480.00"), "counted in a hurry", {"100": "4", "20": "4", "other": "0.00"})

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, supervisor)
            await press(pilot, "ctrl+t")
            screen = app.screen
            assert isinstance(screen, TillOverviewScreen)
            assert screen.chosen() is not None
            await press(pilot, "a")
            assert isinstance(app.screen, ConfirmScreen)
            await press(pilot, "y")
            assert isinstance(app.screen, TillOverviewScreen)
            said = screen.status.text
            assert screen.status.has_class("-error") and said, said

            # Another supervisor may.
            await sign_in(pilot, till_book.nrb.staff["supervisor2"])
            await press(pilot, "ctrl+t")
            await press(pilot, "a", "y")
            assert "approved" in app.screen.status.text  # type: ignore[attr-defined]

    run(scenario())
    assert count(engine, "SELECT count(*) FROM till_sessions WHERE status = 'closed'") == 1


def test_a_cashier_cannot_open_the_till_overview(app_engine: Engine, access_log: Path, till_book: TillBook) -> None:
    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await sign_in(pilot, till_book.nrb.staff["cashier"])
            await press(pilot, "ctrl+t")
            assert isinstance(app.screen, HomeScreen)
            assert "Tills is not open to the cashier role" in notices(app)[-1]
            assert app.open_screen("till_overview") is False

    run(scenario())
    assert "screen=till_overview via=key" in access_log.read_text()


def test_the_open_dialog_refuses_a_bad_float_beside_it(app_engine: Engine, engine: Engine, access_log: Path,
                                                       till_book: TillBook) -> None:
    cashier = till_book.nrb.staff["cashier"]

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, cashier)
            await press(pilot, "o")
            dialog = app.screen
            assert isinstance(dialog, OpenTillDialog)
            assert str(dialog.query_one("#open-till", Select).value) == str(till_book.nrb.tills["T1"])
            for typed, says in (("abc", "digits"), ("-5", "negative"), ("10.005", "two decimals"),
                                ("999,999", "the vault holds only")):
                await type_into(pilot, "#open-float", typed)
                await press(pilot, "enter")
                assert app.screen is dialog
                assert says in message(dialog, "float"), (typed, message(dialog, "float"))
                assert dialog.query_one("#open-float", Input).value == typed
            assert count(engine, "SELECT count(*) FROM till_sessions") == 0
            # T1 taken by another cashier meanwhile: the database refuses, the dialog says why and stays.
            TillRepository(app_engine, till_book.nrb.staff["cashier2"]).open(till_book.nrb.tills["T1"],
                                                                           Decimal("100.00"))
            await type_into(pilot, "#open-float", "0")
            await press(pilot, "enter")
            assert app.screen is dialog
            assert "held by Cashier2 NRB01" in message(dialog, "till")
            assert count(engine, "SELECT count(*) FROM till_sessions") == 1
            await press(pilot, "escape")
            assert isinstance(app.screen, HomeScreen)

    run(scenario())


def test_a_loan_officer_opens_a_field_session_from_home_and_counts_it(app_engine: Engine, engine: Engine,
                                                                      access_log: Path, till_book: TillBook) -> None:
    """The officer's way before a meeting where tills are required: o on home, a float of 0 already typed, Enter;
    the till line shows the session; c counts it when the cash is handed in."""
    officer = till_book.nrb.staff["officer"]

    async def scenario() -> None:
        app = till_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, officer)
            assert isinstance(app.screen, HomeScreen)
            assert "No till open · o open till" in _plain(app.screen.query_one("#till-line", Static))
            await press(pilot, "o")
            dialog = app.screen
            assert isinstance(dialog, OpenTillDialog)
            assert dialog.query_one("#open-float", Input).value == "0"
            assert "field session" in _plain(dialog.query_one("#open-vault", Static))
            await press(pilot, "enter")
            assert isinstance(app.screen, HomeScreen)
            assert "Till T1" in _plain(app.screen.query_one("#till-line", Static))
            await press(pilot, "c")
            assert isinstance(app.screen, TillCloseScreen)

    run(scenario())
    assert count(engine, "SELECT count(*) FROM till_sessions WHERE cashier_id = :u AND opening_float = 0 "
                         "AND status = 'open'", u=officer.user_id) == 1
