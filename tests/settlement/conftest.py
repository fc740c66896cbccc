"""The settlement tests connect as the application does (the login role), on the till tests' book of two branches
(NRB01 requires tills, MSA01 does not), with no loans of its own: each test makes the loans it needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from tests.tills.book import TillBook, build_till_book


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def book(engine: Engine, app_engine: Engine) -> TillBook:
    return build_till_book(engine, app_engine, loans=0)
