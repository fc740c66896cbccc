"""Sign-in rules: same message for unknown users and wrong passwords, lockout, inactive accounts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL

from db.passwords import HASHER
from db.repositories.auth import (
    INACTIVE,
    LOCK_DURATION,
    WRONG_CREDENTIALS,
    SignInRefused,
    authenticate,
    locked_message,
)
from tests.tui.conftest import DEMO, ROLE_OF

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def login_engine(db_url: URL) -> Iterator[Engine]:
    """Connected as the application's login role, as production is: proves its grants are enough."""
    eng = create_engine(db_url.set(username="astrofin_app"), poolclass=pool.NullPool)
    yield eng
    eng.dispose()


def _user(engine: Engine, username: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM users WHERE username = :u"), {"u": username}).mappings().one()
    return dict(row)


def _refusal(engine: Engine, username: str, password: str, now: datetime = NOW) -> str:
    with pytest.raises(SignInRefused) as caught:
        authenticate(engine, username, password, now=now)
    return str(caught.value)


@pytest.mark.parametrize("username", DEMO)
def test_each_demo_account_signs_in(login_engine: Engine, engine: Engine, username: str) -> None:
    actor = authenticate(login_engine, username, f"{username}-demo", now=NOW)
    assert (actor.username, actor.role) == (username, ROLE_OF[username])
    assert actor.full_name
    row = _user(engine, username)
    assert row["last_login_at"] == NOW
    assert row["failed_login_count"] == 0


def test_username_is_matched_whatever_its_case(login_engine: Engine) -> None:
    assert authenticate(login_engine, "  Cashier ", "cashier-demo", now=NOW).username == "cashier"


def test_unknown_user_and_wrong_password_get_the_same_message(login_engine: Engine) -> None:
    assert _refusal(login_engine, "cashier", "wrong-password") == WRONG_CREDENTIALS
    assert _refusal(login_engine, "nobody", "cashier-demo") == WRONG_CREDENTIALS
    assert _refusal(login_engine, "", "") == WRONG_CREDENTIALS
    assert _refusal(login_engine, "cashier", "") == WRONG_CREDENTIALS


def test_unknown_user_keeps_the_same_message_however_often(login_engine: Engine) -> None:
    for _ in range(6):
        assert _refusal(login_engine, "nobody", "x") == WRONG_CREDENTIALS


def test_five_failures_lock_the_account_for_fifteen_minutes(login_engine: Engine, engine: Engine) -> None:
    for attempt in range(1, 5):
        assert _refusal(login_engine, "cashier", "wrong", NOW + timedelta(seconds=attempt)) == WRONG_CREDENTIALS
        assert _user(engine, "cashier")["failed_login_count"] == attempt
    fifth = _refusal(login_engine, "cashier", "wrong", NOW + timedelta(seconds=5))
    until = NOW + timedelta(seconds=5) + LOCK_DURATION
    assert fifth.startswith(WRONG_CREDENTIALS) and "locked" in fifth
    assert locked_message(until, NOW) in fifth
    assert _user(engine, "cashier")["locked_until"] == until

    # The right password is refused while the lock lasts, and says so.
    sixth = _refusal(login_engine, "cashier", "cashier-demo", NOW + timedelta(minutes=10))
    assert sixth == locked_message(until, NOW)
    assert "locked" in sixth and until.astimezone().strftime("%H:%M") in sixth

    # Once it has run out, the right password works and the count starts again.
    actor = authenticate(login_engine, "cashier", "cashier-demo", now=until + timedelta(seconds=1))
    assert actor.username == "cashier"
    row = _user(engine, "cashier")
    assert row["failed_login_count"] == 0 and row["locked_until"] is None


def test_failures_must_be_in_a_row(login_engine: Engine, engine: Engine) -> None:
    for _ in range(4):
        _refusal(login_engine, "officer", "wrong")
    authenticate(login_engine, "officer", "officer-demo", now=NOW)
    for _ in range(4):
        assert _refusal(login_engine, "officer", "wrong") == WRONG_CREDENTIALS
    assert _user(engine, "officer")["locked_until"] is None


def test_a_failure_after_the_lock_ran_out_starts_a_new_count(login_engine: Engine, engine: Engine) -> None:
    for _ in range(5):
        _refusal(login_engine, "officer", "wrong")
    later = NOW + LOCK_DURATION + timedelta(minutes=1)
    assert _refusal(login_engine, "officer", "wrong", later) == WRONG_CREDENTIALS
    row = _user(engine, "officer")
    assert row["failed_login_count"] == 1 and row["locked_until"] is None


def test_inactive_account_is_refused_and_says_so_only_after_the_right_password(
    login_engine: Engine, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE username = 'accountant'"))
    assert _refusal(login_engine, "accountant", "wrong") == WRONG_CREDENTIALS
    assert _refusal(login_engine, "accountant", "accountant-demo") == INACTIVE
    assert _user(engine, "accountant")["last_login_at"] is None


def test_an_outdated_hash_is_replaced_at_sign_in(login_engine: Engine, engine: Engine) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("supervisor-demo")
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET password_hash = :h WHERE username = 'supervisor'"), {"h": weak})
    authenticate(login_engine, "supervisor", "supervisor-demo", now=NOW)
    new_hash = str(_user(engine, "supervisor")["password_hash"])
    assert new_hash != weak and not HASHER.check_needs_rehash(new_hash)
    assert HASHER.verify(new_hash, "supervisor-demo")


def test_a_current_hash_is_kept(login_engine: Engine, engine: Engine) -> None:
    before = _user(engine, "admin")["password_hash"]
    authenticate(login_engine, "admin", "admin-demo", now=NOW)
    assert _user(engine, "admin")["password_hash"] == before
