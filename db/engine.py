"""Connections: where the database is, the engine, and the unit of work every repository call runs in."""

from __future__ import annotations

import logging
import select
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from db.config import ConnectionSettings, Settings
from db.paths import file_logger

ROLE_NAMES = {
    "cashier": "astrofin_cashier",
    "loan_officer": "astrofin_loan_officer",
    "supervisor": "astrofin_supervisor",
    "accountant": "astrofin_accountant",
    "admin": "astrofin_admin",
}
KEYRING_SERVICE = "astrofin"

_query_log = logging.getLogger("astrofin.queries")


@dataclass(frozen=True)
class Actor:
    """The signed-in staff member on whose behalf a unit of work runs."""

    user_id: int
    username: str
    role: str
    full_name: str = ""
    must_change_password: bool = False
    """Set at sign-in after an administrator's reset: the person chooses a new password before working."""
    branch_id: int | None = None
    """The staff member's branch (users.branch_id); they see it and the branches below it."""
    branch_code: str = ""
    branch_name: str = ""

    @property
    def branch_label(self) -> str:
        """The branch as staff read it, code then name ("NRB01 Nairobi Central"); empty when unknown."""
        return " ".join(part for part in (self.branch_code, self.branch_name) if part)

    @property
    def db_role(self) -> str:
        return ROLE_NAMES[self.role]


def keyring_key(conn: ConnectionSettings) -> str:
    return f"{conn.user}@{conn.host}:{conn.port}/{conn.database}"


def stored_password(conn: ConnectionSettings) -> str:
    """The production password from the system keyring, or '' when there is none or no backend."""
    if conn.environment != "production" or conn.password:
        return conn.password
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_key(conn)) or ""
    except Exception:  # no usable backend on a headless host: libpq then reads PGPASSFILE
        return ""


def server_url(conn: ConnectionSettings, *, database: str | None = None, user: str | None = None) -> URL:
    """A URL for a configured server; a host starting with '/' is a Unix socket folder, as in libpq.

    Several hosts ("h1,h2,h3", a cluster) become libpq's multi-host form, `host=h1,h2,h3&port=p1,p2,p3`, with
    target_session_attrs (read-write unless configured otherwise): libpq tries each in turn and keeps the first
    that accepts writes, so after a failover a new connection finds the new primary.
    """
    query: dict[str, str] = {}
    host: str | None = conn.host
    if conn.ports or conn.host.startswith("/"):
        query["host"] = conn.host
        query["port"] = ",".join(str(port) for port in conn.ports) if conn.ports else str(conn.port)
        host = None
    if conn.target_session_attrs:
        query["target_session_attrs"] = conn.target_session_attrs
    if conn.connect_timeout:
        query["connect_timeout"] = str(conn.connect_timeout)
    if conn.ssl:
        query["sslmode"] = "require"
    return URL.create(
        "postgresql+psycopg",
        username=user or conn.user,
        password=stored_password(conn) or None,
        host=host,
        port=None if host is None else conn.port,
        database=database or conn.database,
        query=query,
    )


def with_database(url: URL | str, database: str) -> URL:
    return make_url(url).set(database=database)


def libpq_env(url: URL | str) -> dict[str, str]:
    """PG* variables for the bundled command-line tools (pg_dump, pg_restore, psql)."""
    url = make_url(url)
    env = {"PGDATABASE": url.database or "", "PGUSER": url.username or ""}
    host = url.host or str(url.query.get("host") or "")
    if host:
        env["PGHOST"] = host
    port = url.port or url.query.get("port")
    if port:
        env["PGPORT"] = str(port)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if url.query.get("sslmode"):
        env["PGSSLMODE"] = str(url.query["sslmode"])
    if url.query.get("target_session_attrs"):
        env["PGTARGETSESSIONATTRS"] = str(url.query["target_session_attrs"])
    if url.query.get("connect_timeout"):
        env["PGCONNECT_TIMEOUT"] = str(url.query["connect_timeout"])
    return env


def make_engine(url: URL | str, settings: Settings | None = None, **kwargs: Any) -> Engine:
    pool_size = kwargs.pop("pool_size", settings.connection.pool_size if settings else 5)
    # No server-side prepared statements (psycopg prepares a statement after its fifth run): PostgreSQL would
    # then plan it once for any parameters, and under the branches' row-level security such a generic plan of a
    # customer search walks a whole branch where the plan for the typed text reads an index range (a name
    # prefix: 135 ms against 23 ms at 100,000 customers). Every statement is planned for its own values; the
    # functions on the counter's hot path cache their own plans inside PostgreSQL. A transaction-mode pooler (PgBouncer
    # before 1.21) cannot follow a prepared statement either: the next transaction may get another server connection.
    # Every engine of the application, the commands' too, is made here (tests/pooler/test_engines.py).
    connect_args = {"prepare_threshold": None, **kwargs.pop("connect_args", {})}
    if "poolclass" not in kwargs:  # a command's NullPool takes no size
        kwargs["pool_size"] = max(pool_size, 1)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "checkout", _check_alive)
    if settings is not None:
        _watch_queries(engine, settings)
    return engine


def _check_alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection is checked before use without a round trip while its socket is quiet.

    An idle connection receives nothing: a server that ended it (restarted, failed over, terminated the backend)
    has sent its last message and closed the socket, which then reads as ready. Only then is it pinged, as
    pool_pre_ping would ping every checkout (a round trip on each unit of work, a fifth of a lookup's time); a
    dead one is replaced by the pool.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    try:
        ready, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError) as exc:
        raise DisconnectionError("the connection's socket is gone") from exc
    if not ready:
        return
    try:
        dbapi_connection.execute("SELECT 1").fetchall()
        dbapi_connection.rollback()  # the ping opened a transaction; the unit of work (or one message) starts its own
    except psycopg.Error as exc:
        raise DisconnectionError("the server ended the connection") from exc


_SECRET_NAMES = ("password", "secret", "token")
_REDACTED = "(redacted)"


def redact_params(params: Any) -> Any:
    """Query parameters as they may be logged: password hashes and anything named like a secret hidden."""
    if isinstance(params, dict):
        return {key: _REDACTED if any(word in str(key).lower() for word in _SECRET_NAMES) else redact_params(value)
                for key, value in params.items()}
    if isinstance(params, list | tuple):
        return type(params)(redact_params(value) for value in params)
    if isinstance(params, str) and params.startswith("$argon2"):
        return _REDACTED
    return params


_watched: weakref.WeakKeyDictionary[Engine, Settings] = weakref.WeakKeyDictionary()


def _watch_queries(engine: Engine, settings: Settings) -> None:
    """Log queries slower than SLOW_QUERY_THRESHOLD ms (all of them with LOG_QUERIES) to the log folder."""
    file_logger(_query_log.name, "queries.log")
    _watched[engine] = settings

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("astrofin_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finish(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        log_query(engine, statement, params, time.perf_counter() - conn.info["astrofin_started"].pop())


def log_query(engine: Engine, statement: str, params: Any, seconds: float) -> None:
    """Log a query the engine ran, as the settings it was made with ask (nothing when made without them)."""
    settings = _watched.get(engine)
    if settings is None:
        return
    elapsed_ms = seconds * 1000
    if elapsed_ms >= settings.slow_query_ms or settings.log_queries:
        kind = "slow query" if elapsed_ms >= settings.slow_query_ms else "query"
        line = f"{kind} {elapsed_ms:.1f} ms: {' '.join(statement.split())}"
        if settings.log_query_params:
            line += f" params={redact_params(params)!r}"
        _query_log.info(line)


@contextmanager
def unit_of_work(engine: Engine, actor: Actor | None) -> Iterator[Session]:
    """One transaction; under a signed-in actor it runs as that actor's database role.

    `SET LOCAL ROLE` and `astrofin.user_id` last only for this transaction, so a pooled connection
    (or PgBouncer in transaction mode) never carries one person's rights into another's work.
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        act_as(session, actor)
        yield session


def act_as(session: Session, actor: Actor | None) -> None:
    """Take on the actor's database role and name for the rest of the session's current transaction."""
    if actor is None:
        return
    # One round trip: set_config('role', …, true) is SET LOCAL ROLE (the same membership check), with the
    # role name bound as a parameter like the user id.
    session.execute(text("SELECT set_config('astrofin.user_id', :uid, true), set_config('role', :role, true)"),
                    {"uid": str(actor.user_id), "role": actor.db_role})
