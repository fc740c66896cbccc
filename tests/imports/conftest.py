"""The import tests connect as the application does (the login role astrofin_app) on a small book: branch IMP01 with
its staff, branch OTH01 beside it (another branch's customer), and two loan products."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from db.engine import Actor

FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
STAFF = (("admin", "admin"), ("supervisor", "supervisor"), ("accountant", "accountant"), ("cashier", "cashier"),
         ("officer", "loan_officer"))


@dataclass
class ImportBook:
    app: Engine
    owner: Engine
    branch: int
    other: int
    staff: dict[str, Actor] = field(default_factory=dict)
    other_admin: Actor | None = None


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    engine = create_engine(db_url.set(username="astrofin_app"), pool_size=4)
    yield engine
    engine.dispose()


def _user(conn: object, name: str, role: str, branch: int, code: str) -> Actor:
    uid = conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO users (username, password_hash, full_name, role, branch_id) VALUES (:u, :h, :n, :r, :b) "
        "RETURNING id"), {"u": name, "h": FAKE_HASH, "n": name.title(), "r": role, "b": branch}).scalar_one()
    return Actor(uid, name, role, name.title(), branch_id=branch, branch_code=code)


@pytest.fixture
def book(engine: Engine, app_engine: Engine) -> ImportBook:
    with engine.begin() as conn:
        hq = conn.execute(text("SELECT id FROM branches WHERE parent_id IS NULL")).scalar_one()
        admin = conn.execute(text("SELECT id FROM users WHERE username = 'admin'")).scalar_one()
        branch = conn.execute(text("SELECT create_branch('IMP01', 'Import Town', :p, :a)"),
                              {"p": hq, "a": admin}).scalar_one()
        other = conn.execute(text("SELECT create_branch('OTH01', 'Other Town', :p, :a)"),
                             {"p": hq, "a": admin}).scalar_one()
        result = ImportBook(app_engine, engine, branch, other)
        for key, role in STAFF:
            result.staff[key] = _user(conn, f"{key}_imp", role, branch, "IMP01")
        result.other_admin = _user(conn, "admin_oth", "admin", other, "OTH01")
        conn.execute(text(
            "INSERT INTO loan_products (code, name, interest_method, repayment_frequency, principal_min, "
            "principal_max, rate_min, rate_max, rate_default, term_min, term_max, term_default) VALUES "
            "('BIASHARA', 'Biashara', 'declining_balance', 'monthly', 1000, 100000, 10, 40, 24, 3, 24, 12), "
            "('WIKI', 'Wiki', 'flat', 'weekly', 500, 20000, 0, 60, 20, 4, 52, 10)"))
        conn.execute(text(
            "INSERT INTO customers (first_name, last_name, national_id, branch_id) "
            "VALUES ('Other', 'Branch', 'OTHER-1', :b)"), {"b": other})
    return result
