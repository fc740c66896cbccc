"""Passwords: staff change their own password (current one right, policy met, not the same again), which
clears the flag an administrator's reset sets; the reset says whether it unlocked the account; sign-in hands
the flag to the screen on the Actor. Run on the application's login role, as the app does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import URL

from db.engine import Actor
from db.errors import Refused, ValidationError
from db.passwords import verify_password
from db.repositories.auth import (
    MAX_FAILED_SIGN_INS,
    SAME_PASSWORD,
    WRONG_CURRENT,
    SignInRefused,
    authenticate,
    change_own_password,
)
from db.repositories.users import PasswordReset, UserRepository


@pytest.fixture
def app_engine(db_url: URL) -> Iterator[Engine]:
    """The login role the application connects as (astrofin_app)."""
    engine = create_engine(db_url.set(username="astrofin_app"), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def _user(engine: Engine, username: str) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT id, password_hash, must_change_password, failed_login_count, locked_until FROM users "
            "WHERE username = :u"), {"u": username}).mappings().one())


def _lock(engine: Engine, username: str, until: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET locked_until = :t, failed_login_count = 5 WHERE username = :u"),
                     {"t": until, "u": username})


def test_an_admin_reset_asks_for_a_new_password_at_the_next_sign_in(engine: Engine, app_engine: Engine,
                                                                    actors: dict[str, Actor]) -> None:
    cashier = actors["cashier"]
    assert authenticate(app_engine, "cashier", "cashier-demo").must_change_password is False
    reset = UserRepository(app_engine, actors["admin"]).reset_password(cashier.user_id, "temporary-pass-1",
                                                                       "temporary-pass-1")
    assert isinstance(reset, PasswordReset)
    assert (reset.must_change_password, reset.was_locked, reset.unlocked) == (True, False, False)
    assert reset.summary == ("cashier: password reset; they choose a new one at their next sign-in. "
                             "The account was not locked.")
    assert _user(engine, "cashier")["must_change_password"] is True
    signed_in = authenticate(app_engine, "cashier", "temporary-pass-1")
    assert signed_in.must_change_password is True
    changed = change_own_password(app_engine, signed_in, "temporary-pass-1", "my-own-secret-22")
    assert changed.must_change_password is False and changed.user_id == cashier.user_id
    assert _user(engine, "cashier")["must_change_password"] is False
    assert authenticate(app_engine, "cashier", "my-own-secret-22").must_change_password is False
    with pytest.raises(SignInRefused):
        authenticate(app_engine, "cashier", "temporary-pass-1")


@pytest.mark.parametrize("lock", [timedelta(minutes=10), timedelta(days=3650)], ids=["failed sign-ins", "admin lock"])
def test_the_reset_says_it_unlocked_a_locked_account(engine: Engine, app_engine: Engine,
                                                     actors: dict[str, Actor], lock: timedelta) -> None:
    _lock(engine, "officer", datetime.now(UTC) + lock)
    reset = UserRepository(app_engine, actors["admin"]).reset_password(actors["officer"].user_id,
                                                                       "officer-new-pass", "officer-new-pass")
    assert (reset.was_locked, reset.unlocked, reset.locked_until, reset.failed_login_count) == (True, True, None, 0)
    assert reset.summary.endswith("The account was locked and is now unlocked.")
    assert authenticate(app_engine, "officer", "officer-new-pass").must_change_password is True


def test_a_lock_that_has_run_out_is_not_reported_as_unlocked(engine: Engine, app_engine: Engine,
                                                             actors: dict[str, Actor]) -> None:
    _lock(engine, "officer", datetime.now(UTC) - timedelta(minutes=1))
    reset = UserRepository(app_engine, actors["admin"]).reset_password(actors["officer"].user_id,
                                                                       "officer-new-pass", "officer-new-pass")
    assert (reset.was_locked, reset.unlocked) == (False, False)


def test_an_admin_resetting_their_own_password_is_not_asked_again(engine: Engine, app_engine: Engine,
                                                                   actors: dict[str, Actor]) -> None:
    admin = actors["admin"]
    reset = UserRepository(app_engine, admin).reset_password(admin.user_id, "admin-new-pass", "admin-new-pass")
    assert reset.must_change_password is False
    assert authenticate(app_engine, "admin", "admin-new-pass").must_change_password is False


@pytest.mark.parametrize(("current", "new", "confirmation", "field", "message"), [
    ("", "a-long-new-password", None, "current_password", "type your current password"),
    ("cashier-demo", "short", None, "new_password", "at least 10 characters"),
    ("cashier-demo", "cashier-demo", None, "new_password", SAME_PASSWORD),
    ("cashier-demo", "a-long-new-password", "a-different-one", "new_password", "the two passwords differ"),
    ("not-the-password", "a-long-new-password", None, "current_password", WRONG_CURRENT),
])
def test_each_refusal_is_said_beside_its_field_and_changes_nothing(
        engine: Engine, app_engine: Engine, actors: dict[str, Actor], current: str, new: str,
        confirmation: str | None, field: str, message: str) -> None:
    before = _user(engine, "cashier")["password_hash"]
    with pytest.raises(ValidationError) as refused:
        change_own_password(app_engine, actors["cashier"], current, new, confirmation)
    assert list(refused.value.fields) == [field]
    assert message in refused.value.fields[field]
    assert _user(engine, "cashier")["password_hash"] == before
    assert authenticate(app_engine, "cashier", "cashier-demo").username == "cashier"


def test_wrong_current_passwords_count_as_failed_sign_ins_and_lock(engine: Engine, app_engine: Engine,
                                                                   actors: dict[str, Actor]) -> None:
    cashier = actors["cashier"]
    for attempt in range(1, MAX_FAILED_SIGN_INS + 1):
        with pytest.raises(ValidationError) as refused:
            change_own_password(app_engine, cashier, f"guess-number-{attempt}", "a-long-new-password")
        assert _user(engine, "cashier")["failed_login_count"] == attempt
    assert "locked after 5 failed sign-ins" in refused.value.fields["current_password"]
    with pytest.raises(Refused, match="locked"):
        change_own_password(app_engine, cashier, "cashier-demo", "a-long-new-password")
    with pytest.raises(SignInRefused):
        authenticate(app_engine, "cashier", "cashier-demo")


def test_the_change_is_audited_under_the_persons_own_name(engine: Engine, app_engine: Engine,
                                                          actors: dict[str, Actor]) -> None:
    cashier = actors["cashier"]
    UserRepository(app_engine, actors["admin"]).reset_password(cashier.user_id, "temporary-pass-1",
                                                               "temporary-pass-1")
    change_own_password(app_engine, cashier, "temporary-pass-1", "my-own-secret-22")
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT changed_by, old_values, new_values FROM audit_logs WHERE table_name = 'users' "
            "AND action = 'UPDATE' AND record_id = :u ORDER BY id"), {"u": cashier.user_id}).all()
    (reset_by, reset_old, reset_new), (changed_by, old, new) = rows[-2:]
    assert reset_by == actors["admin"].user_id
    assert (reset_old["must_change_password"], reset_new["must_change_password"]) == (False, True)
    assert changed_by == cashier.user_id
    assert (old["must_change_password"], new["must_change_password"]) == (True, False)
    assert new["password_hash"] == "(changed)" and old["password_hash"] == "(redacted)"
    assert verify_password(str(_user(engine, "cashier")["password_hash"]), "my-own-secret-22")
