"""Staff accounts, as the admin keeps them: create, change role, reset password, lock, unlock, deactivate.

Accounts are never deleted: the audit log and every transaction keep pointing at who did what.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.errors import NotFound, Refused, ValidationError
from db.models import User
from db.passwords import hash_password, password_problem
from db.repositories.base import Repository
from db.repositories.branches import BranchRepository

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,49}")  # as the users_username_check constraint
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ROLES = ("cashier", "loan_officer", "supervisor", "accountant", "admin")
FAR_FUTURE = datetime(9999, 12, 31).astimezone()


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    full_name: str
    role: str
    is_active: bool
    locked_until: datetime | None
    failed_login_count: int
    last_login_at: datetime | None
    must_change_password: bool = False
    branch_id: int | None = None
    branch_code: str = ""
    """The branch the person works for (they see it and the branches under it)."""


@dataclass(frozen=True)
class PasswordReset(StaffMember):
    """The account after an administrator's password reset, and whether the reset unlocked it."""

    was_locked: bool = False
    """The account was locked (failed sign-ins or an administrator's lock) when it was reset; it is not now."""

    @property
    def unlocked(self) -> bool:
        return self.was_locked and self.locked_until is None

    @property
    def summary(self) -> str:
        """What the administrator reads once the reset is saved."""
        said = f"{self.username}: password reset"
        said += "; they choose a new one at their next sign-in." if self.must_change_password else "."
        return said + (" The account was locked and is now unlocked." if self.unlocked
                       else " The account was not locked.")


def _member(user: User, branches: Mapping[int, tuple[int, str]] | None = None) -> StaffMember:
    branch_id, branch_code = (branches or {}).get(user.id, (None, ""))
    return StaffMember(user.id, user.username, user.full_name, user.role, user.is_active, user.locked_until,
                       user.failed_login_count, user.last_login_at, user.must_change_password, branch_id,
                       branch_code)


def _branches_of(session: Session, user_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """Each account's branch: its id and code."""
    if not user_ids:
        return {}
    rows = session.execute(text(
        "SELECT u.id, u.branch_id, b.code FROM users u JOIN branches b ON b.id = u.branch_id "
        "WHERE u.id = ANY(:ids)"), {"ids": list(user_ids)}).all()
    return {row.id: (row.branch_id, row.code) for row in rows}


class UserRepository(Repository):
    def list(self) -> list[StaffMember]:
        with self.work() as session:
            users = session.scalars(select(User).order_by(func.lower(User.username))).all()
            branches = _branches_of(session, [u.id for u in users])
            return [_member(u, branches) for u in users]

    def create(self, username: str, full_name: str, role: str, password: str, confirmation: str,
               branch_id: int | None = None) -> StaffMember:
        """A new account; with `branch_id` it works for that branch (else the database's default)."""
        problems: dict[str, str] = {}
        username = username.strip()
        if not username:
            problems["username"] = "the username is required"
        elif not USERNAME.fullmatch(username):
            problems["username"] = "a username has 2 to 50 letters, digits, '.', '_' or '-', starting with a " \
                                   "letter or digit"
        if not full_name.strip():
            problems["full_name"] = "the full name is required"
        elif len(full_name.strip()) > 200:
            problems["full_name"] = "the full name has at most 200 characters"
        elif CONTROL.search(full_name.strip()):
            problems["full_name"] = "the full name contains control characters (tabs, line breaks, escapes)"
        if role not in ROLES:
            problems["role"] = f"choose one of {', '.join(ROLES)}"
        problem = password_problem(password, confirmation)
        if problem:
            problems["password"] = problem
        if problems:
            raise ValidationError(problems)
        with self.work() as session:
            taken = session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
            if taken:
                raise ValidationError({"username": f"the username {username!r} is taken"})
            user = User(username=username, full_name=full_name.strip(), role=role,
                        password_hash=hash_password(password))
            session.add(user)
            session.flush()
            if branch_id is not None:
                session.execute(text("SELECT assign_user_branch(:member, :branch, :admin)"),
                                {"member": user.id, "branch": branch_id, "admin": self.actor.user_id})
            return _member(user, _branches_of(session, [user.id]))

    def change_role(self, user_id: int, role: str) -> StaffMember:
        if role not in ROLES:
            raise ValidationError({"role": f"choose one of {', '.join(ROLES)}"})
        return self._change(user_id, role=role)

    def set_branch(self, user_id: int, branch_id: int | None) -> StaffMember:
        """Move the account to another branch (assign_user_branch holds the rules)."""
        if branch_id is None:
            raise ValidationError({"branch": "choose the branch they work for"})
        BranchRepository(self.engine, self.actor).assign_user(user_id, branch_id)
        with self.work() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"user {user_id} does not exist")
            return _member(user, _branches_of(session, [user.id]))

    def reset_password(self, user_id: int, password: str, confirmation: str,
                       now: datetime | None = None) -> PasswordReset:
        """Give the account a new password and unlock it. Someone else's account must choose its own password
        at the next sign-in (must_change_password); the result says whether the reset unlocked the account."""
        problem = password_problem(password, confirmation)
        if problem:
            raise ValidationError({"password": problem})
        now = now or datetime.now(UTC)
        with self.work() as session:
            user = session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound(f"user {user_id} does not exist")
            was_locked = user.locked_until is not None and user.locked_until > now
            user.password_hash = hash_password(password)
            user.failed_login_count = 0
            user.locked_until = None
            user.must_change_password = user_id != self.actor.user_id
            session.flush()
            return PasswordReset(user.id, user.username, user.full_name, user.role, user.is_active,
                                 user.locked_until, user.failed_login_count, user.last_login_at,
                                 user.must_change_password, was_locked=was_locked)

    def lock(self, user_id: int) -> StaffMember:
        return self._change(user_id, locked_until=FAR_FUTURE)

    def unlock(self, user_id: int) -> StaffMember:
        return self._change(user_id, locked_until=None, failed_login_count=0)

    def deactivate(self, user_id: int) -> StaffMember:
        return self._change(user_id, is_active=False)

    def reactivate(self, user_id: int) -> StaffMember:
        return self._change(user_id, is_active=True)

    def _change(self, user_id: int, **values: object) -> StaffMember:
        if user_id == self.actor.user_id and (
            values.get("is_active") is False or "locked_until" in values and values["locked_until"] is not None
            or "role" in values and values["role"] != "admin"
        ):
            raise Refused("you cannot lock, deactivate or demote your own account")
        with self.work() as session:
            user = session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound(f"user {user_id} does not exist")
            for name, value in values.items():
                setattr(user, name, value)
            session.flush()
            return _member(user, _branches_of(session, [user.id]))
