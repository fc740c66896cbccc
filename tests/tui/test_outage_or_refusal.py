"""A lost connection is only a connection error; a refusal, a fault or an empty answer is never taken for
one (it would put up the banner and retry for ever instead of saying what is wrong)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InvalidRequestError, OperationalError

from db.errors import DatabaseUnavailable, NotFound, Refused, ValidationError
from screens.data import is_outage


class _WithState(Exception):
    """A driver error as the server reports it: with its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("server says no")
        self.sqlstate = sqlstate


def _wrapped(kind: type[DBAPIError], orig: BaseException) -> DBAPIError:
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize("error", [
    DatabaseUnavailable("cannot reach the database server"),
    DisconnectionError("gone"),
    ConnectionResetError("reset by peer"),
    _wrapped(OperationalError, psycopg.OperationalError("connection refused")),
    _wrapped(OperationalError, _WithState("08006")),
    _wrapped(OperationalError, _WithState("57P01")),
], ids=["unavailable", "disconnection", "reset", "no-sqlstate", "class-08", "admin-shutdown"])
def test_connection_errors_are_outages(error: BaseException) -> None:
    assert is_outage(error)


@pytest.mark.parametrize("error", [
    Refused("the loan is closed"),
    NotFound("no such loan"),
    ValidationError({"amount": "too much"}),
    _wrapped(IntegrityError, _WithState("23505")),
    _wrapped(OperationalError, _WithState("57014")),  # statement timeout: the server answered
    _wrapped(DBAPIError, _WithState("42501")),
    InvalidRequestError("a programming fault"),
    ValueError("bad value"),
    None,
], ids=["refused", "not-found", "validation", "unique", "timeout", "permission", "invalid-request", "value",
        "none"])
def test_refusals_and_faults_are_not_outages(error: BaseException | None) -> None:
    assert not is_outage(error)
