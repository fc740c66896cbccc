"""Repositories act for signed-in staff: actors for the demo accounts of the test template."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from db.engine import Actor


def actor_for(engine: Engine, username: str) -> Actor:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, username, role, full_name FROM users WHERE username = :u"),
                           {"u": username}).one()
    return Actor(row.id, row.username, row.role, row.full_name)


@pytest.fixture
def actors(engine: Engine) -> dict[str, Actor]:
    return {name: actor_for(engine, name) for name in ("admin", "supervisor", "officer", "cashier", "accountant")}
