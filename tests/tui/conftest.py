"""TUI test fixtures: demo staff as Actors, an app on the test's database with a pinned clock and theme."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import URL

from db.engine import Actor, make_engine, unit_of_work
from db.models import User

TODAY = date(2025, 3, 10)
DEMO = ("admin", "supervisor", "officer", "cashier", "accountant")
ROLE_OF = {"admin": "admin", "supervisor": "supervisor", "officer": "loan_officer", "cashier": "cashier",
           "accountant": "accountant"}


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """What the app runs on: a pooled engine as `make_engine` builds it."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def actors(engine: Engine) -> dict[str, Actor]:
    with unit_of_work(engine, None) as session:
        users = session.scalars(select(User)).all()
        return {u.username: Actor(u.id, u.username, u.role, u.full_name) for u in users}


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"
