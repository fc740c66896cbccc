"""Reschedule fixtures: the demo staff (and a second supervisor) on the owner's connection, the login role's engine,
and the books checked after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from tests.ledger.helpers import Staff, load_staff


@pytest.fixture
def staff(engine: Engine) -> Staff:
    with engine.begin() as conn:
        return load_staff(conn)


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """The connection the application makes: the login role astrofin_app (trust on the test socket)."""
    eng = create_engine(db_url.set(username="astrofin_app"), pool_size=4)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def books_balance(engine: Engine) -> Iterator[None]:
    """After each test: every entry balances and the trial balance is zero (a reschedule posts nothing)."""
    yield
    with engine.connect() as conn:
        total = conn.execute(text("SELECT coalesce(sum(debit - credit), 0) FROM journal_entry_details")).scalar_one()
        unbalanced = conn.execute(text(
            "SELECT count(*) FROM journal_entries e WHERE (SELECT coalesce(sum(d.debit - d.credit), 0) "
            "FROM journal_entry_details d WHERE d.journal_entry_id = e.id) <> 0")).scalar_one()
    assert total == 0, f"trial balance is off by {total}"
    assert unbalanced == 0, f"{unbalanced} journal entries do not balance"
