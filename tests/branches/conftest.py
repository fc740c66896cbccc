"""The three-branch book, and the login role's engine, for the branch tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from tests.branches.book import Book, build_book


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """The connection the application makes: the login role astrofin_app (trust on the test socket)."""
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def book(engine: Engine, app_engine: Engine) -> Book:
    return build_book(engine, app_engine)
