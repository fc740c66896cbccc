"""The group tests connect as the application does (the login role), on a book of two branches with groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from tests.groups.book import GroupBook, build_group_book


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """The connection the application makes: the login role astrofin_app (trust on the test socket)."""
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=8)
    yield engine
    engine.dispose()


@pytest.fixture
def book(engine: Engine, app_engine: Engine) -> GroupBook:
    return build_group_book(engine, app_engine)
