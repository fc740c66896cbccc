"""Sign-in: check a username and password, count failures, lock after too many, record the last sign-in;
and a staff member's change of their own password.

This runs before anyone is signed in (or, for the change, for the person themselves), so it uses the
connection's login role as it is (no SET ROLE): the login role may read `users` and update only the sign-in
columns (failures, lock, last sign-in, password hash, must_change_password), and row-level security shows it only
the account named in `astrofin.sign_in` (or, for the change, the person's own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine, func, select, text

from db.engine import Actor, unit_of_work
from db.errors import AstrofinError, NotFound, Refused, ValidationError
from db.models import User
from db.passwords import hash_password, needs_rehash, password_problem, verify_password

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
    return with_branch(engine, outcome.actor)


def with_branch(engine: Engine, actor: Actor) -> Actor:
    """The actor with their branch (id, code, name), read as the actor: the database derives their scope from
    who they are (their branch and those below it), and their own branch is the one of it whose parent is not
    in it (none above it for the head office)."""
    with unit_of_work(engine, actor) as session:
        row = session.execute(text("""
            SELECT b.id, b.code, b.name FROM branches b
            WHERE b.id = ANY(astrofin_branch_scope())
              AND (b.parent_id IS NULL OR NOT b.parent_id = ANY(astrofin_branch_scope()))
            ORDER BY b.id LIMIT 1
        """)).first()
    if row is None:
        return actor
    return replace(actor, branch_id=int(row.id), branch_code=str(row.code), branch_name=str(row.name))


def _attempt(engine: Engine, username: str, password: str, now: datetime) -> _Outcome:
    # The failure count must be committed even when the sign-in is refused, so the refusal is raised
    # only after the unit of work has ended.
    with unit_of_work(engine, None) as session:
        # Row-level security shows the login role only the account whose name it is given here.
        session.execute(text("SELECT set_config('astrofin.sign_in', :name, true)"), {"name": username.lower()})
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
        return _Outcome(actor=Actor(user.id, user.username, user.role, user.full_name, user.must_change_password))


WRONG_CURRENT = "the current password is not right"
SAME_PASSWORD = "the new password must differ from the current one"


@dataclass(frozen=True)
class _Change:
    actor: Actor | None = None
    problems: dict[str, str] | None = None
    refusal: str | None = None


def change_own_password(engine: Engine, actor: Actor, current: str, new: str, confirmation: str | None = None,
                        now: datetime | None = None) -> Actor:
    """The signed-in person replaces their own password: the current one must be right, the new one must meet
    the policy (MIN_PASSWORD_LENGTH characters or more), differ from the current one and, when given, match its
    confirmation. Clears must_change_password and returns the Actor without it.

    Refusals are ValidationError on `current_password` or `new_password`. A wrong current password counts as a
    failed sign-in (five in a row lock the account), so an unattended session cannot be used to guess it. The
    change is audited under the person's own name, with the hash redacted as in every users row of the log.
    """
    now = (now or datetime.now(UTC)).astimezone()
    problems: dict[str, str] = {}
    if not current:
        problems["current_password"] = "type your current password"
    if problem := password_problem(new, confirmation):
        problems["new_password"] = problem
    elif current and new == current:
        problems["new_password"] = SAME_PASSWORD
    if problems:
        raise ValidationError(problems)
    outcome = _change_password(engine, actor, current, new, now)
    if outcome.refusal is not None:
        raise Refused(outcome.refusal)
    if outcome.problems:
        raise ValidationError(outcome.problems)
    assert outcome.actor is not None
    return outcome.actor


def _change_password(engine: Engine, actor: Actor, current: str, new: str, now: datetime) -> _Change:
    # As at sign-in, a failure must be counted and committed before the refusal is raised.
    with unit_of_work(engine, None) as session:
        # The audit log names the person (the audit triggers read astrofin.user_id); no staff role is taken.
        session.execute(text("SELECT set_config('astrofin.user_id', :uid, true)"), {"uid": str(actor.user_id)})
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None:
            raise NotFound(f"user {actor.username} does not exist")
        if not user.is_active:
            return _Change(refusal=INACTIVE)
        if user.locked_until is not None and user.locked_until > now:
            return _Change(refusal=locked_message(user.locked_until, now))
        if not verify_password(user.password_hash, current):
            user.failed_login_count += 1
            if user.failed_login_count >= MAX_FAILED_SIGN_INS:
                user.locked_until = now + LOCK_DURATION
                locked = locked_message(user.locked_until, now)
                return _Change(problems={"current_password": f"{WRONG_CURRENT}. {locked}"})
            return _Change(problems={"current_password": WRONG_CURRENT})
        user.password_hash = hash_password(new)
        user.failed_login_count = 0
        user.locked_until = None
        user.must_change_password = False
    return _Change(actor=replace(actor, must_change_password=False))
