"""Sign-in: check a username and password, count failures, lock after too many, record the last sign-in.

This runs before anyone is signed in, so it uses the connection's login role as it is (no SET ROLE): the
login role may read `users` and update only the sign-in columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine, func, select

from db.engine import Actor, unit_of_work
from db.errors import AstrofinError
from db.models import User
from db.passwords import hash_password, needs_rehash, verify_password

MAX_FAILED_SIGN_INS = 5
LOCK_DURATION = timedelta(minutes=15)
ADMIN_LOCK_AFTER = timedelta(days=1)
WRONG_CREDENTIALS = "Wrong username or password."
INACTIVE = "This account is inactive. Ask an administrator to reactivate it."


class SignInRefused(AstrofinError):
    """A sign-in that did not succeed; the message is what the person at the keyboard reads."""


@dataclass(frozen=True)
class _Outcome:
    actor: Actor | None = None
    refusal: str | None = None


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash to verify against when the username is unknown, so both cases take the same time."""
    return hash_password("not a password anyone has")


def locked_message(locked_until: datetime, now: datetime) -> str:
    if locked_until - now > ADMIN_LOCK_AFTER:  # failed sign-ins lock for minutes; an administrator's lock has no end
        return "This account is locked by an administrator. Ask an administrator to unlock it."
    local_until = locked_until.astimezone()
    when = local_until.strftime("%H:%M")
    if local_until.date() != now.astimezone().date():
        when += local_until.strftime(" on %Y-%m-%d")
    return (f"This account is locked after {MAX_FAILED_SIGN_INS} failed sign-ins, until {when}. "
            "Try again then, or ask an administrator to unlock it.")


def authenticate(engine: Engine, username: str, password: str, now: datetime | None = None) -> Actor:
    """The signed-in Actor, or SignInRefused with a message that reveals nothing to a guesser.

    An unknown username and a wrong password get the same message. Five failures in a row lock the
    account for fifteen minutes; attempts while it is locked are refused without checking the password.
    An inactive account is named as such only after its right password.
    """
    now = (now or datetime.now(UTC)).astimezone()
    name = username.strip()
    outcome = _attempt(engine, name, password, now) if name and password else _Outcome(refusal=WRONG_CREDENTIALS)
    if outcome.actor is None:
        raise SignInRefused(outcome.refusal or WRONG_CREDENTIALS)
    return outcome.actor


def _attempt(engine: Engine, username: str, password: str, now: datetime) -> _Outcome:
    # The failure count must be committed even when the sign-in is refused, so the refusal is raised
    # only after the unit of work has ended.
    with unit_of_work(engine, None) as session:
        user = session.scalars(
            select(User).where(func.lower(User.username) == username.lower()).with_for_update()
        ).first()
        if user is None:
            verify_password(_decoy_hash(), password)
            return _Outcome(refusal=WRONG_CREDENTIALS)
        if user.locked_until is not None and user.locked_until > now:
            return _Outcome(refusal=locked_message(user.locked_until, now))
        if user.locked_until is not None:  # the lock has run out: a fresh start
            user.locked_until = None
            user.failed_login_count = 0
        if not verify_password(user.password_hash, password):
            user.failed_login_count += 1
            if user.failed_login_count >= MAX_FAILED_SIGN_INS:
                user.locked_until = now + LOCK_DURATION
                return _Outcome(refusal=f"{WRONG_CREDENTIALS} {locked_message(user.locked_until, now)}")
            return _Outcome(refusal=WRONG_CREDENTIALS)
        if not user.is_active:
            return _Outcome(refusal=INACTIVE)
        user.failed_login_count = 0
        user.locked_until = None
        user.last_login_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return _Outcome(actor=Actor(user.id, user.username, user.role, user.full_name))
