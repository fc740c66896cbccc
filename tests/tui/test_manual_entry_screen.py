"""An accountant posts a manual journal entry from the screen: lines added with totals that follow, refused
until it balances (beside the lines), posted once, and the books stay balanced."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text
from textual.widgets import Input, Static

from db.engine import Actor
from screens.journal_entry import ManualEntryScreen
from tests.tui.conftest import run, settle
from tests.tui.front import count, front_app, sign_in
from widgets.fields import FieldRow


async def _line(pilot, account: str, debit: str, credit: str, memo: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*account, "enter", *debit, "enter", *credit, "enter", *memo, "enter")
    await settle(pilot)


def test_an_accountant_posts_a_balanced_entry(app_engine: Engine, engine: Engine, access_log: Path,
                                              actors: dict[str, Actor]) -> None:
    results: list[int | None] = []

    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["accountant"])
            app.push_screen(ManualEntryScreen(app.screen_context()), results.append)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ManualEntryScreen)
            await pilot.press("enter", *"Owners add capital", "enter")
            await _line(pilot, "1100", "5,000", "", "deposit slip 17")
            await _line(pilot, "3000", "", "4,000", "")
            totals = str(screen.query_one("#entry-totals", Static).content)
            assert "Debits 5,000.00" in totals and "Credits 4,000.00" in totals and "off by 1,000.00" in totals
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen and "differ by 1,000.00" in screen.query_one("#field-lines").message
            assert results == []
            screen.query_one("#line-account", Input).focus()
            await _line(pilot, "3000", "", "1,000", "")
            assert "balanced" in str(screen.query_one("#entry-totals", Static).content)
            await pilot.press("ctrl+s", "ctrl+s")  # twice: posted once
            await settle(pilot)
            assert app.screen is not screen, (screen.status.text, [r.message for r in screen.query(FieldRow)])

    run(scenario())
    assert len(results) == 1 and isinstance(results[0], int)
    assert count(engine, "SELECT count(*) FROM journal_entries WHERE description = 'Owners add capital'") == 1
    assert count(engine, "SELECT count(*) FROM journal_entry_details WHERE journal_entry_id = :e", e=results[0]) == 3
    with engine.connect() as conn:
        debit, credit = conn.execute(text("SELECT sum(debit), sum(credit) FROM journal_entry_details")).one()
    assert Decimal(debit) == Decimal(credit)


def test_a_line_with_both_sides_is_refused_beside_the_line(app_engine: Engine, access_log: Path,
                                                           actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, actors["accountant"])
            app.push_screen(ManualEntryScreen(app.screen_context()))
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ManualEntryScreen)
            screen.query_one("#line-account", Input).focus()
            await _line(pilot, "1000", "10", "10", "")
            assert "not both" in screen.query_one("#field-line").message
            assert screen.lines == []

    run(scenario())


def test_the_journal_tab_posts_and_reverses_a_manual_entry(app_engine: Engine, engine: Engine, access_log: Path,
                                                           actors: dict[str, Actor]) -> None:
    async def scenario() -> None:
        app = front_app(app_engine, access_log)
        async with app.run_test(size=(100, 30)) as pilot:
            await sign_in(pilot, actors["accountant"])
            await pilot.press("f8")
            await settle(pilot)
            books = app.screen
            await pilot.press("alt+n")  # to the journal tab
            await settle(pilot)
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(app.screen, ManualEntryScreen)
            await pilot.press("enter", *"Bank charges", "enter")
            await _line(pilot, "5000", "250", "", "")
            await _line(pilot, "1100", "", "250", "")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is books
            books.query_one("#journal").focus()
            await pilot.press("end", "v")
            await settle(pilot)
            await pilot.press(*"posted to the wrong account", "enter")
            await settle(pilot)
            assert app.screen is books

    run(scenario())
    assert count(engine, "SELECT count(*) FROM journal_entries WHERE reverses_entry_id IS NOT NULL") == 1
    with engine.connect() as conn:
        debit, credit = conn.execute(text("SELECT sum(debit), sum(credit) FROM journal_entry_details")).one()
    assert Decimal(debit) == Decimal(credit)
