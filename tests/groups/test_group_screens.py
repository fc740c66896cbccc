"""The group screens, keyboard first at 80×24: the list, a new group through its dialog (a refusal beside its field
first), its page, a member added and removed, the reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL

from db.engine import Actor, make_engine, unit_of_work
from db.models import User
from screens.group_dialogs import AddMemberDialog, GroupFormDialog
from screens.group_page import GroupPageScreen
from screens.group_reports import GroupReportsScreen
from screens.groups import GroupsScreen
from tests.tui.conftest import run
from tests.tui.front import front_app, press, sign_in, type_into


@pytest.fixture
def tui_engine(db_url: URL) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _actor(engine: Engine, username: str) -> Actor:
    with unit_of_work(engine, None) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return Actor(user.id, user.username, user.role, user.full_name)


def test_keep_a_group_from_the_screens(tui_engine: Engine, engine: Engine, tmp_path: Path) -> None:
    officer = _actor(engine, "officer")
    with unit_of_work(engine, officer) as session:
        number = session.execute(text("INSERT INTO customers (first_name, last_name, created_by) "
                                      "VALUES ('Amina', 'Wanjiru', :me) RETURNING customer_number"),
                                 {"me": officer.user_id}).scalar_one()

    async def scenario() -> None:
        app = front_app(tui_engine, tmp_path / "access.log")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, officer)
            app.action_groups()
            await pilot.pause()
            assert isinstance(app.screen, GroupsScreen)
            assert "n adds a group" in app.screen.status.text
            await press(pilot, "n")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, GroupFormDialog)
            await type_into(pilot, "#group-first", "01/01/2030")  # a Tuesday, as the meetings by default
            await press(pilot, "ctrl+s")
            assert dialog.query_one("#field-name").message  # type: ignore[attr-defined]
            await type_into(pilot, "#group-name", "Upendo Women Group")
            await type_into(pilot, "#group-first", "")
            await press(pilot, "ctrl+s")
            await pilot.pause()
            groups = app.screen
            assert isinstance(groups, GroupsScreen), dialog.status.text
            assert [g.name for g in groups.groups] == ["Upendo Women Group"]
            await press(pilot, "enter")
            await pilot.pause()
            page = app.screen
            assert isinstance(page, GroupPageScreen) and page.detail is not None
            await press(pilot, "a")
            await pilot.pause()
            adding = app.screen
            assert isinstance(adding, AddMemberDialog)
            await type_into(pilot, "#member-customer", "C-999999")
            await press(pilot, "ctrl+s")
            await pilot.pause()
            assert "no customer C-999999" in adding.query_one("#field-customer").message  # type: ignore
            await type_into(pilot, "#member-customer", number)
            await press(pilot, "ctrl+s")
            await pilot.pause()
            assert app.screen is page
            await pilot.pause()
            assert [m.customer_number for m in page.detail.members] == [number]
            await press(pilot, "d", "y")
            await pilot.pause()
            await pilot.pause()
            assert page.detail.members[0].left_on == date.today()
            await press(pilot, "escape")
            await pilot.pause()
            assert isinstance(app.screen, GroupsScreen)
            await press(pilot, "r")
            await pilot.pause()
            reports = app.screen
            assert isinstance(reports, GroupReportsScreen)
            await pilot.pause()
            assert [r.name for r in reports.rows] == ["Upendo Women Group"]

    run(scenario())
    with engine.connect() as conn:
        left = conn.execute(text("SELECT left_on FROM group_members")).scalar_one()
    assert left == date.today()


def test_the_group_page_opens_its_sheet_and_reprints_the_last_one(book, tmp_path: Path) -> None:
    """From a group's page: r shows the receipt of its last posted sheet, s opens its sheet for the next meeting."""
    import json

    from screens.collection_sheet import CollectionSheetScreen
    from screens.sheet_receipt import SheetReceiptScreen
    from tests.groups.book import ANCHOR, one

    msa = book.msa
    officer = msa.staff["officer"]
    sheet = one(book.app, officer, "SELECT post_collection_sheet(:g, :d, CAST(:l AS jsonb), :me, :k)", g=msa.group,
                d=ANCHOR + timedelta(days=7), me=officer.user_id, k="page-reprint",
                l=json.dumps([{"loan_id": msa.loans[0], "amount": "100.00", "attended": True}]))
    app_engine = make_engine(book.app.url)

    async def scenario() -> None:
        app = front_app(app_engine, tmp_path / "access.log")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, officer)
            app.push_screen(GroupPageScreen(app.screen.ctx, msa.group))  # type: ignore[attr-defined]
            await pilot.pause()
            page = app.screen
            assert isinstance(page, GroupPageScreen)
            for _ in range(20):
                if page.attendance:
                    break
                await pilot.pause(0.05)
            assert [p.sheet_id for p in page.attendance] == [sheet]
            await press(pilot, "r")
            await pilot.pause()
            assert isinstance(app.screen, SheetReceiptScreen) and app.screen.sheet_id == sheet
            await press(pilot, "escape")
            await pilot.pause()
            assert app.screen is page
            await press(pilot, "s")
            await pilot.pause()
            assert isinstance(app.screen, CollectionSheetScreen) and app.screen.group_id == msa.group

    try:
        run(scenario())
    finally:
        app_engine.dispose()
