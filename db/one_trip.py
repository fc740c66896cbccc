"""Work sent as one message: the signed-in person's settings and the statements in one round trip.

A unit of work (db.engine.unit_of_work) costs a round trip for each of BEGIN, the person's settings, the statement
and COMMIT. For the lookups the counter makes most (a customer or loan number, a phone), those round trips were
most of the time a search took. Here the settings and the statement travel as one simple-protocol Query message
on a connection in autocommit. PostgreSQL runs the statements of one Query message as one implicit transaction,
so set_config(…, true) lasts exactly as long as the statement, as in a unit of work; and it plans each statement
of the message after the one before has run, so the statement is planned under the person's role and its
branches' row-level security, as in a unit of work.

Values are bound by psycopg on the client (quoted as literals), since the simple protocol has no parameters;
the statement itself is one SQLAlchemy compiled, with its values bound.

A write goes the same way (write_in_one_trip): the settings, the call that writes, and the read of what it wrote,
as three statements of one message. The call's result is kept in the transaction's setting `astrofin.result`, which
the read names (`current_setting('astrofin.result', true)`); the read is a statement of its own because a statement
does not see rows written by a function it calls. PostgreSQL commits the message's implicit transaction after its
last statement, or rolls all of it back when one fails, so a payment costs one round trip to a distant server and is
never half written. A transaction-mode pooler keeps the three statements on one server connection, as one
transaction.

A save that is a statement of its own (a data-modifying WITH, which cannot sit inside a set_config: a customer's
insert or edit, a loan application) goes with statements_in_one_trip: the save keeps its id in `astrofin.result`
itself, and the reads that follow in the same message name it there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine
from sqlalchemy.engine.interfaces import Compiled, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import TextClause

from db.engine import Actor
from db.replica import replica_for

_SETTINGS = ("SELECT set_config('astrofin.user_id', %(astrofin_user_id)s, true), "
             "set_config('role', %(astrofin_role)s, true);\n")


def fetch_in_one_trip(engine: Engine, actor: Actor, statement: Select[Any], *,
                      replica: bool = True) -> Sequence[tuple[Any, ...]]:
    """The rows of a read-only `statement` run as `actor`, in one round trip (on the replica when one answers and
    `replica` allows it: a figure that a write will be checked against is read on the primary).

    A refusal or a lost connection raises sqlalchemy's DBAPIError, as a unit of work would.
    """
    compiled, params = _compiled(engine, statement)
    params["astrofin_user_id"] = str(actor.user_id)
    params["astrofin_role"] = actor.db_role
    message = _SETTINGS + str(compiled)
    with _read_connection(engine, replica) as connection:
        driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
        driver.autocommit = True
        try:
            with psycopg.ClientCursor(driver) as cursor:
                with _statement_events(connection, cursor, message, params):
                    cursor.execute(message, params, prepare=False)
                cursor.nextset()
                rows: list[tuple[Any, ...]] = cursor.fetchall()
        except psycopg.Error as exc:
            if driver.broken or driver.closed:
                connection.invalidate(exc)
            raise DBAPIError.instance(str(compiled), params, exc, psycopg.Error) from exc
        finally:
            if not (driver.broken or driver.closed):
                driver.autocommit = False
    return rows


@contextmanager
def _statement_events(connection: Connection, cursor: psycopg.ClientCursor[Any], message: str,
                      params: dict[str, Any]) -> Iterator[None]:
    """The engine's statement events around the message, as SQLAlchemy sends them around a statement it executes:
    the slow-query log times it, and whatever else watches the engine's statements sees it."""
    dispatch = connection.dispatch
    dispatch.before_cursor_execute(connection, cursor, message, params, None, False)
    yield
    dispatch.after_cursor_execute(connection, cursor, message, params, None, False)


_RESULT = "SELECT set_config('astrofin.result', ({write})::text, true);\n"


def write_in_one_trip(engine: Engine, actor: Actor, write: TextClause, read: TextClause,
                      values: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
    """Run `write` (a SELECT of one value: a stored function's call, or simply the id of a row to read) then `read`
    as `actor`, as one transaction in one round trip on the primary, and return the rows of `read` as named tuples;
    `read` finds the written value as `current_setting('astrofin.result', true)`. `values` binds the `:names` of both.

    A refusal or a lost connection raises sqlalchemy's DBAPIError, with nothing written.
    """
    message = _RESULT.format(write=_text_sql(engine, write)) + _text_sql(engine, read)
    return _send(engine, actor, message, values, 2)[-1]


def statements_in_one_trip(engine: Engine, actor: Actor, statements: Sequence[TextClause],
                           values: dict[str, Any]) -> list[Sequence[tuple[Any, ...]]]:
    """Run `statements` in order as `actor`, as one transaction in one round trip on the primary, and return the rows
    of each as named tuples. For a save that is one statement of its own (a data-modifying WITH, which cannot sit
    inside write_in_one_trip's set_config) followed by the reads of what it wrote: the save keeps what the reads need
    in `astrofin.result` itself. `values` binds the `:names` of all.

    A refusal or a lost connection raises sqlalchemy's DBAPIError, with nothing written.
    """
    message = ";\n".join(_text_sql(engine, statement) for statement in statements)
    return _send(engine, actor, message, values, len(statements))


def _send(engine: Engine, actor: Actor, statements: str, values: dict[str, Any],
          kept: int) -> list[Sequence[tuple[Any, ...]]]:
    """The settings and `statements` as one Query message on the primary, in autocommit (one implicit transaction);
    the rows of the last `kept` statements, as named tuples."""
    params = dict(values)
    params["astrofin_user_id"] = str(actor.user_id)
    params["astrofin_role"] = actor.db_role
    message = _SETTINGS + statements
    results: list[Sequence[tuple[Any, ...]]] = []
    with engine.connect() as connection:
        driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
        driver.autocommit = True
        try:
            with psycopg.ClientCursor(driver) as cursor:
                with _statement_events(connection, cursor, message, params):
                    cursor.execute(message, params, prepare=False)
                cursor.nextset()  # past the settings
                cursor.row_factory = namedtuple_row  # type: ignore[assignment]  # the statements' rows, by name
                while True:
                    results.append(cursor.fetchall() if cursor.description is not None else [])
                    if not cursor.nextset():
                        break
        except psycopg.Error as exc:
            if driver.broken or driver.closed:
                connection.invalidate(exc)
            raise DBAPIError.instance(message, params, exc, psycopg.Error) from exc
        finally:
            if not (driver.broken or driver.closed):
                driver.autocommit = False
    return results[-kept:]


_text_by_source: dict[tuple[Dialect, str], str] = {}


def _text_sql(engine: Engine, clause: TextClause) -> str:
    """A text clause as the driver takes it (`:name` becomes `%(name)s`), compiled once per text."""
    shape = (engine.dialect, clause.text)
    compiled = _text_by_source.get(shape)
    if compiled is None:
        if len(_text_by_source) >= _COMPILED_LIMIT:
            _text_by_source.clear()
        compiled = _text_by_source[shape] = str(clause.compile(dialect=engine.dialect)).strip().rstrip(";")
    return compiled


_COMPILED_LIMIT = 256
_compiled_by_shape: dict[tuple[Dialect, Any], Compiled] = {}


def _compiled(engine: Engine, statement: Select[Any]) -> tuple[Compiled, dict[str, Any]]:
    """The statement's SQL, compiled once for each shape of statement (compiling took as long as the round trip
    it replaces), and the values of this one. The shape and values are SQLAlchemy's own cache key, as its engine
    caches compiled statements."""
    key = statement._generate_cache_key()
    if key is None:  # a statement SQLAlchemy will not cache
        compiled = statement.compile(dialect=engine.dialect)
        return compiled, dict(compiled.params)
    shape = (engine.dialect, key.key)
    compiled = _compiled_by_shape.get(shape)  # type: ignore[assignment]
    if compiled is None:
        if len(_compiled_by_shape) >= _COMPILED_LIMIT:
            _compiled_by_shape.clear()
        compiled = _compiled_by_shape[shape] = statement.compile(dialect=engine.dialect, cache_key=key)
    return compiled, dict(compiled.construct_params(extracted_parameters=key.bindparams))


def _read_connection(engine: Engine, on_replica: bool) -> Connection:
    replica = replica_for(engine) if on_replica else None
    connection = replica.connect() if replica is not None else None
    return connection if connection is not None else engine.connect()
