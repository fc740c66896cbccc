"""The read an administrator's password reset needs to say whether it unlocked the account."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from db.errors import NotFound
from db.repositories.users import UserRepository


def test_is_locked_says_whether_the_account_is_locked_now(engine, actors):
    repo = UserRepository(engine, actors["admin"])
    made = repo.create("lock.reader", "Lock Reader", "cashier", "counter-pass-1", "counter-pass-1")
    assert repo.is_locked(made.id) is False
    repo.lock(made.id)
    assert repo.is_locked(made.id) is True
    repo.reset_password(made.id, "another-pass-2", "another-pass-2")
    assert repo.is_locked(made.id) is False  # the reset unlocked it

    # Locked for a while after failed sign-ins: locked until then, not after.
    until = datetime.now().astimezone() + timedelta(minutes=15)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET locked_until = :t WHERE id = :i"), {"t": until, "i": made.id})
    assert repo.is_locked(made.id) is True
    assert repo.is_locked(made.id, now=until + timedelta(seconds=1)) is False


def test_is_locked_of_no_such_account_says_so(engine, actors):
    with pytest.raises(NotFound):
        UserRepository(engine, actors["admin"]).is_locked(999_999)
