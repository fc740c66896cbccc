"""The M-Pesa tests connect as the application does (the login role), on the groups' book of two branches (NRB01
and MSA01, each with loans of 4,000.00 at 0 % over 4 weeks), with the head office's M-Pesa service user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from db.engine import Actor
from tests.groups.book import FAKE_HASH, GroupBook, build_group_book


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=8)
    yield engine
    engine.dispose()


@pytest.fixture
def book(engine: Engine, app_engine: Engine) -> GroupBook:
    return build_group_book(engine, app_engine, members=2)


@pytest.fixture
def mpesa(engine: Engine) -> Actor:
    """The head office's M-Pesa service user, a cashier."""
    with engine.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        uid = conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "VALUES ('mpesa_hq', :h, 'M-Pesa', 'cashier', :b) RETURNING id"), {"h": FAKE_HASH, "b": hq}).scalar_one()
    return Actor(uid, "mpesa_hq", "cashier", "M-Pesa", branch_id=hq)
