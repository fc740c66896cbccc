"""A small synthetic book (2,000 customers) shared by the scale tests of a module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, create_engine, pool, text

from db.engine import Actor
from db.scale_seed import ScaleReport, seed_scale

SCALE = 2_000
TODAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def scale_book(pg_server) -> Iterator[tuple[Engine, ScaleReport]]:
    name = f"s_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    report = seed_scale(url, SCALE, random_seed=7, today=TODAY)
    engine = create_engine(url, poolclass=pool.NullPool)
    yield engine, report
    engine.dispose()
    pg_server.drop_database(name)


def actor(engine: Engine, username: str) -> Actor:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, username, role, full_name FROM users WHERE username = :u"),
                           {"u": username}).one()
    return Actor(row.id, row.username, row.role, row.full_name)


@pytest.fixture
def branch_officer(scale_book: tuple[Engine, ScaleReport]) -> str:
    """`branch.officer`: a loan officer of the scale book's first branch under the head office."""
    engine, _ = scale_book
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, password_hash, full_name, role, branch_id) "
            "SELECT 'branch.officer', password_hash, 'Branch Officer', 'loan_officer', "
            "       (SELECT id FROM branches WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1) "
            "FROM users WHERE username = 'officer' "
            "AND NOT EXISTS (SELECT 1 FROM users WHERE username = 'branch.officer')"))
    return "branch.officer"
