"""The customer lookup waits a short pause after a key: a burst of keys runs one search, for the last text;
keys a pause apart each run their own; a slow answer says "searching…", a quick one never flashes it; its
footer does not keep the keys it rebuilt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.widgets._footer import FooterKey

from db.engine import Actor
from db.repositories.customers import CustomerRepository, SearchPage
from db.validation import CustomerInput
from screens.customer_lookup import FOUND, SEARCHING, CustomerLookupScreen
from tests.tui.conftest import TODAY, run, settle
from tests.tui.front import front_app, press, sign_in
from widgets.footer import KeysFooter
from widgets.tables import PageTable


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text the repository is asked for (the real search still runs against the database)."""
    asked: list[str] = []
    real = CustomerRepository.search

    def search(self: CustomerRepository, query: str, **kwargs: Any) -> SearchPage:
        asked.append(query)
        return real(self, query, **kwargs)

    monkeypatch.setattr(CustomerRepository, "search", search)
    yield asked


def _customers(engine: Engine, officer: Actor) -> None:
    repo = CustomerRepository(engine, officer)
    for first, last in (("Amina", "Kamau"), ("Brian", "Kamau"), ("Grace", "Kamande"), ("Peter", "Otieno")):
        repo.create(CustomerInput(first_name=first, last_name=last, phone=None), today=TODAY)


async def _lookup(pilot: Any, actor: Actor, debounce: float) -> CustomerLookupScreen:
    await sign_in(pilot, actor)
    await press(pilot, "f2")
    screen = pilot.app.screen
    assert isinstance(screen, CustomerLookupScreen)
    screen.debounce_seconds = debounce
    screen.query_one("#search").focus()
    await pilot.pause()
    return screen


def _names(screen: CustomerLookupScreen) -> list[str]:
    table = screen.query_one("#results", PageTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def test_a_burst_of_keys_runs_one_search_for_the_last_text(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], searches: list[str]) -> None:
    _customers(engine, actors["officer"])

    async def scenario() -> tuple[list[str], str]:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _lookup(pilot, actors["cashier"], debounce=1.0)
            await pilot.press(*"Kamau")  # five keys well inside one pause
            await settle(pilot)  # the pause waits in the search's worker: settling waits for the answer
            return _names(screen), screen.shown_query

    names, shown = run(scenario())
    assert searches == ["Kamau"]
    assert shown == "Kamau"
    assert names == ["Amina Kamau", "Brian Kamau"]


def test_keys_a_pause_apart_each_run_their_own_search(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor], searches: list[str]) -> None:
    _customers(engine, actors["officer"])

    async def scenario() -> list[list[str]]:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _lookup(pilot, actors["cashier"], debounce=0.01)
            seen = []
            for key in "Kama":
                await press(pilot, key)
                seen.append(_names(screen))
            return seen

    seen = run(scenario())
    assert searches == ["K", "Ka", "Kam", "Kama"]
    # One letter is too short for a name search; from two letters the names show, the last text's answer.
    assert seen[0] == []
    assert seen[3] == ["Grace Kamande", "Amina Kamau", "Brian Kamau"]


def test_a_slow_answer_says_searching_and_a_quick_one_never_does(
        app_engine: Engine, engine: Engine, access_log: Path, actors: dict[str, Actor],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _customers(engine, actors["officer"])
    release = threading.Event()
    real = CustomerRepository.search

    def slow_search(self: CustomerRepository, query: str, **kwargs: Any) -> SearchPage:
        if query == "Otieno":
            release.wait(10)
        return real(self, query, **kwargs)

    monkeypatch.setattr(CustomerRepository, "search", slow_search)
    statuses: list[str] = []

    async def scenario() -> tuple[str, str, list[str]]:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _lookup(pilot, actors["cashier"], debounce=0.01)
            original = screen.status.say

            def say(text: str, **kwargs: Any) -> None:
                statuses.append(text)
                original(text, **kwargs)

            screen.status.say = say  # type: ignore[method-assign]
            await pilot.press(*"Kamau")
            await settle(pilot)
            quick = screen.status.text
            field = screen.query_one("#search")
            field.value = "Otieno"  # as pasted: one search, held back by the database
            deadline = time.monotonic() + 5
            while screen.status.text != SEARCHING and time.monotonic() < deadline:
                await pilot.pause(0.05)
            waiting = screen.status.text
            release.set()
            await settle(pilot)
            return quick, waiting, _names(screen)

    quick, waiting, names = run(scenario())
    assert quick == FOUND and SEARCHING not in statuses[:statuses.index(FOUND) + 1]
    assert waiting == SEARCHING
    assert names == ["Peter Otieno"]


def test_the_footer_keeps_no_key_it_removed(app_engine: Engine, access_log: Path, actors: dict[str, Actor]) -> None:
    """Textual's footer rebuilds its keys whenever the bindings refresh (here: paging comes and goes); the
    removed keys must not stay alive through the footer's watchers, or a day of searching grows the app."""

    async def scenario() -> tuple[bool, list[Any], list[Any]]:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _lookup(pilot, actors["cashier"], debounce=0.01)
            footer = screen.query_one(KeysFooter)
            first = list(footer.query(FooterKey))
            for _ in range(5):
                screen.refresh_bindings()
                await settle(pilot)
            keys = list(footer.query(FooterKey))
            watched = [node for watchers in getattr(footer, "__watchers", {}).values() for node, _ in watchers]
            return not set(map(id, first)) & set(map(id, keys)), keys, watched

    rebuilt, keys, watched = run(scenario())
    assert rebuilt and keys
    assert watched and all(any(node is key for key in keys) for node in watched)


def test_every_screen_uses_the_footer_without_the_leak() -> None:
    """Each screen refreshes its bindings as it works; Textual's own footer would keep the old keys alive."""
    import ast
    from pathlib import Path as _Path

    offenders = []
    for module in sorted(_Path("screens").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "textual.widgets":
                if any(alias.name == "Footer" for alias in node.names):
                    offenders.append(module.name)
    assert offenders == []
