"""Home: the supervisor's applications waiting for approval open one by one; the footer and home name every
screen alike."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from textual.widgets import OptionList

from db.engine import Actor
from db.permissions import SCREENS, screens_for
from db.repositories.customers import CustomerRepository
from db.repositories.dashboard import day_at_a_glance
from db.repositories.loans import LoanApplication, LoanRepository, LoanTerms
from db.validation import CustomerInput
from screens.home import HomeScreen
from screens.loan_detail import LoanDetailScreen
from tests.tui.conftest import DEMO, ROLE_OF, TODAY, run
from tests.tui.front import front_app, press, sign_in
from widgets.footer import KeysFooter


def _applications(engine: Engine, actors: dict[str, Actor], *names: str) -> list[int]:
    ids = []
    for name in names:
        customer = CustomerRepository(engine, actors["officer"]).create(
            CustomerInput(first_name=name, last_name="Mwangi"), today=TODAY)
        terms = LoanTerms(Decimal("5000.00"), Decimal("24.00"), "flat", 6, "monthly")
        ids.append(LoanRepository(engine, actors["officer"]).apply(LoanApplication(customer.id, terms),
                                                                   today=TODAY).id)
    return ids


def test_only_a_role_that_approves_gets_the_pending_list(engine: Engine, actors: dict[str, Actor]) -> None:
    ids = _applications(engine, actors, "Akinyi", "Baraka")
    pending = day_at_a_glance(engine, actors["supervisor"], TODAY).pending
    assert [p.loan_id for p in pending] == ids
    assert pending[0].customer_name == "Akinyi Mwangi" and pending[0].principal == Decimal("5000.00")
    for username in ("officer", "cashier", "accountant", "admin"):
        assert day_at_a_glance(engine, actors[username], TODAY).pending == ()


def test_enter_on_a_pending_application_opens_it_and_home_follows_the_decision(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    first, second = _applications(engine, actors, "Akinyi", "Baraka")

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["supervisor"])
            home = app.screen
            assert isinstance(home, HomeScreen)
            listing = home.query_one("#pending-list", OptionList)
            assert listing.option_count == 2
            listing.focus()
            await press(pilot, "end", "enter")
            assert isinstance(app.screen, LoanDetailScreen) and app.screen.loan is not None
            assert app.screen.loan.id == second
            await press(pilot, "a", "y")
            assert app.screen.loan.status == "approved"
            await press(pilot, "escape")
            assert app.screen is home
            assert listing.option_count == 1 and listing.get_option_at_index(0).id == str(first)
            listing.focus()
            await press(pilot, "home", "enter")
            assert isinstance(app.screen, LoanDetailScreen) and app.screen.loan_id == first

    run(scenario())


def test_titles_and_footer_words_are_one_name() -> None:
    for spec in SCREENS:
        assert spec.key_label == spec.title, spec


@pytest.mark.parametrize("username", DEMO)
def test_the_footer_and_home_name_each_screen_alike(app_engine: Engine, access_log: Path,
                                                    actors: dict[str, Actor], username: str) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(200, 40)) as pilot:
            await sign_in(pilot, actors[username])
            home = app.screen
            assert isinstance(home, HomeScreen)
            entries = home.query_one("#screens", OptionList)
            on_home = {}
            for index in range(entries.option_count):
                key, _, title = str(entries.get_option_at_index(index).prompt).partition(" ")
                on_home[key] = title.strip()
            screen_keys = {spec.key_display for spec in SCREENS}  # F2 … F12, and ^T once the function keys ran out
            in_footer = {key: word for key, word in home.query_one(KeysFooter).shown_keys if key in screen_keys}
            assert on_home == in_footer
            assert set(on_home) == {spec.key_display for spec in screens_for(ROLE_OF[username])}

    run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_footer_never_cuts_a_key(app_engine: Engine, access_log: Path, actors: dict[str, Actor],
                                     size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=size) as pilot:
            await sign_in(pilot, actors["supervisor"])
            for keys in ((), ("f3",), ("escape", "f7"), ("escape", "f6"), ("escape", "f4")):
                await press(pilot, *keys)
                footer = app.screen.query_one(KeysFooter)
                shown = [key for key in footer.query_children() if key.display]
                right = max(key.region.right for key in shown)
                assert right <= footer.region.right, (keys, footer.shown_keys)
                assert footer.shown_keys, keys

    run(scenario())
