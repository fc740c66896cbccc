"""The loan application's group field: shown for a member of a group, the loan taken in it falls due on meeting
days; a monthly group loan is refused beside the frequency, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL
from textual.widgets import Select

from db.engine import Actor, make_engine, unit_of_work
from db.models import User
from screens.loan_application import LoanApplicationScreen
from screens.loan_detail import LoanDetailScreen
from tests.tui.conftest import run
from tests.tui.front import front_app, press, sign_in, type_into


@pytest.fixture
def tui_engine(db_url: URL) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _officer(engine: Engine) -> Actor:
    with unit_of_work(engine, None) as session:
        user = session.scalars(select(User).where(User.username == "officer")).one()
        return Actor(user.id, user.username, user.role, user.full_name)


def test_a_member_applies_in_her_group(tui_engine: Engine, engine: Engine, tmp_path: Path) -> None:
    officer = _officer(engine)
    anchor = date.today()
    with unit_of_work(engine, officer) as session:
        group = session.execute(text("SELECT create_group('group', 'Upendo', NULL, :me, :w, 'weekly', :d, NULL, :me)"),
                                {"me": officer.user_id, "w": anchor.isoweekday(), "d": anchor}).scalar_one()
        member, number = session.execute(text(
            "INSERT INTO customers (first_name, last_name, created_by) VALUES ('Amina', 'Wanjiru', :me) "
            "RETURNING id, customer_number"), {"me": officer.user_id}).one()
        loner = session.execute(text("INSERT INTO customers (first_name, last_name, created_by) "
                                     "VALUES ('Juma', 'Hassan', :me) RETURNING customer_number"),
                                {"me": officer.user_id}).scalar_one()
        session.execute(text("SELECT add_group_member(:g, :c, 'chair', NULL, :me)"),
                        {"g": group, "c": member, "me": officer.user_id})

    async def scenario() -> None:
        app = front_app(tui_engine, tmp_path / "access.log")
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot, officer)
            await press(pilot, "f6")
            screen = app.screen
            assert isinstance(screen, LoanApplicationScreen)
            await type_into(pilot, "#customer", loner)
            await press(pilot, "enter")
            assert not screen.query_one("#field-group_id").display  # not a member: no group field
            await type_into(pilot, "#customer", number)
            await press(pilot, "enter")
            await pilot.pause()
            assert screen.query_one("#field-group_id").display
            screen.query_one("#group_id", Select).value = group
            await type_into(pilot, "#principal", "8000")
            await press(pilot, "ctrl+s")  # monthly, the form's default: refused beside the frequency
            await pilot.pause()
            row = screen.query_one("#field-repayment_frequency")
            assert "weekly or biweekly" in row.message, screen.status.text  # type: ignore[attr-defined]
            assert isinstance(app.screen, LoanApplicationScreen)
            screen.query_one("#repayment_frequency", Select).value = "weekly"
            await pilot.pause()
            await press(pilot, "ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, LoanDetailScreen), screen.status.text

    run(scenario())
    with engine.connect() as conn:
        loans = conn.execute(text("SELECT group_id, repayment_frequency FROM loans")).all()
    assert [tuple(r) for r in loans] == [(group, "weekly")]
