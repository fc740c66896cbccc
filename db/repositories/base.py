"""What every repository shares: the unit of work under the signed-in actor, and database refusals
turned into messages a person can act on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import TextClause

from db.engine import Actor, unit_of_work
from db.errors import (
    SHEET_LINE_REFUSED,
    AstrofinError,
    DatabaseUnavailable,
    LineRefused,
    NotFound,
    Refused,
    ValidationError,
    unreachable_message,
)
from db.one_trip import fetch_in_one_trip, statements_in_one_trip, write_in_one_trip
from db.replica import read_unit_of_work

# Constraint names → what a person reads; the rest fall back to the database's own message.
CONSTRAINT_MESSAGES = {
    "customers_national_id_key": "another customer already has this national ID",
    "customers_phone_check": "the phone number must be in international form, e.g. +254712345678",
    "customers_email_check": "the email address does not look right",
    "customers_first_name_check": "the first name is required (at most 100 characters)",
    "customers_last_name_check": "the last name is required (at most 100 characters)",
    "users_username_key": "a user with this username already exists",
    "users_username_check": "a username has 2 to 50 letters, digits, '.', '_' or '-'",
    "sms_templates_name_key": "a template with this name already exists",
}


def translate(exc: DBAPIError) -> AstrofinError:
    """A database error as an AstrofinError whose message can be shown as it is."""
    if isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) is None:
        return DatabaseUnavailable(unreachable_message(exc))
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)
    primary = (getattr(diag, "message_primary", None) or str(orig)).strip()
    constraint = getattr(diag, "constraint_name", None) or ""
    column = getattr(diag, "column_name", None) or ""
    if sqlstate == "P0101":
        return NotFound(primary)
    if sqlstate == SHEET_LINE_REFUSED and column:
        return LineRefused(column, primary)
    if sqlstate.startswith("P0") and column:
        # A refusal that names the field it belongs to (RAISE … USING COLUMN = 'term'): shown beside it.
        return ValidationError({column: primary})
    if sqlstate.startswith("P0"):
        return Refused(primary)
    if sqlstate == "42501":
        return Refused("your role may not do this (the database refused it)")
    if constraint in CONSTRAINT_MESSAGES:
        return Refused(CONSTRAINT_MESSAGES[constraint])
    if sqlstate in {"40001", "40P01"}:
        return Refused("the database was busy with the same record; please try again")
    if sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}:
        return DatabaseUnavailable(unreachable_message(exc))
    if sqlstate == "25006":
        # A write reached a server that accepts no writes (not, or not yet, the primary): a failover under way behind
        # a single address (HAProxy). Nothing was written; the same save goes through once the new primary answers.
        return DatabaseUnavailable("the database server accepts no changes right now (a failover is under way)")
    return Refused(primary.splitlines()[0] if primary else "the database refused this")


def contains_pattern(typed: str) -> str:
    """A LIKE pattern that finds what was typed anywhere in a column, its % and _ taken as typed (LIKE's default
    escape character is the backslash)."""
    return "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Repository:
    """A repository acts for one signed-in person; each public call is one unit of work."""

    def __init__(self, engine: Engine, actor: Actor) -> None:
        self.engine = engine
        self.actor = actor

    @contextmanager
    def work(self) -> Iterator[Session]:
        try:
            with unit_of_work(self.engine, self.actor) as session:
                yield session
        except DBAPIError as exc:
            raise translate(exc) from exc

    @contextmanager
    def read_work(self) -> Iterator[Session]:
        """A read-only unit of work: on the read replica when one is attached and answers, else the primary."""
        try:
            with read_unit_of_work(self.engine, self.actor) as session:
                yield session
        except DBAPIError as exc:
            raise translate(exc) from exc

    def fetch_in_one_trip(self, statement: Select[Any], *, replica: bool = True) -> Sequence[tuple[Any, ...]]:
        """The rows of a read-only statement, with the person's settings, in one round trip (db/one_trip.py)."""
        try:
            return fetch_in_one_trip(self.engine, self.actor, statement, replica=replica)
        except DBAPIError as exc:
            raise translate(exc) from exc

    def write_in_one_trip(self, write: TextClause, read: TextClause,
                          params: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        """A write and the read of what it wrote, with the person's settings, as one transaction in one round trip
        (db/one_trip.py); `read` names the write's result `current_setting('astrofin.result', true)`."""
        try:
            return write_in_one_trip(self.engine, self.actor, write, read, params)
        except DBAPIError as exc:
            raise translate(exc) from exc

    def statements_in_one_trip(self, statements: Sequence[TextClause],
                               params: dict[str, Any]) -> list[Sequence[Any]]:
        """Statements run in order with the person's settings, as one transaction in one round trip (db/one_trip.py):
        a save written as one statement and the reads of what it wrote; the rows of each, as named tuples."""
        try:
            return statements_in_one_trip(self.engine, self.actor, statements, params)
        except DBAPIError as exc:
            raise translate(exc) from exc
