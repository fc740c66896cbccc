"""Reads that may go to a streaming replica: search, reports and the overdue queue.

A primary engine may have a read replica attached (`attach`, or `attach_from_settings` with the
`read_replica` section of database.config.json / DB_READ_HOST). `read_unit_of_work(primary, actor)` then
runs on the replica, under the same `SET LOCAL ROLE` and `astrofin.user_id` as any unit of work; when the
replica cannot be reached it logs a warning and runs on the primary, and leaves the replica alone for
`retry_after` seconds so a cashier does not wait on a dead server at every keystroke.

A replica lags the primary by a little (usually milliseconds): a customer created a moment ago may appear
in search a moment later. Anything that writes, or must read its own writes, uses the primary.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.config import Settings
from db.engine import Actor, act_as, make_engine, server_url

log = logging.getLogger("astrofin.replica")


class ReadReplica:
    """A read-only engine and whether it answered lately."""

    def __init__(self, engine: Engine, *, retry_after: float = 30.0) -> None:
        self.engine = engine
        self.retry_after = retry_after
        self.down_until = 0.0
        self.last_error = ""
        self.fallbacks = 0
        self._lock = threading.Lock()

    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def mark_down(self, error: BaseException) -> None:
        with self._lock:
            self.down_until = time.monotonic() + self.retry_after
            self.last_error = " ".join(str(error).split())[:300]
            self.fallbacks += 1
        log.warning("read replica unavailable, reading from the primary for %.0f s: %s",
                    self.retry_after, self.last_error)

    def connect(self) -> Connection | None:
        """A connection to the replica, or None (with a warning) when it cannot be reached."""
        if not self.available():
            return None
        try:
            return self.engine.connect()
        except OperationalError as exc:
            self.mark_down(exc)
            return None


_replicas: weakref.WeakKeyDictionary[Engine, ReadReplica] = weakref.WeakKeyDictionary()


def attach(primary: Engine, read_engine: Engine, *, retry_after: float = 30.0) -> ReadReplica:
    replica = ReadReplica(read_engine, retry_after=retry_after)
    _replicas[primary] = replica
    return replica


def detach(primary: Engine) -> None:
    replica = _replicas.pop(primary, None)
    if replica is not None:
        replica.engine.dispose()


def replica_for(primary: Engine) -> ReadReplica | None:
    return _replicas.get(primary)


def attach_from_settings(primary: Engine, settings: Settings) -> ReadReplica | None:
    """Attach the configured replica (DB_READ_HOST …) to the application's engine; None when none is set."""
    conn = settings.read_connection
    if conn is None:
        return None
    read_engine = make_engine(server_url(conn), settings, connect_args={"connect_timeout": 3})
    return attach(primary, read_engine, retry_after=settings.read_retry_seconds)


@contextmanager
def read_unit_of_work(primary: Engine, actor: Actor | None) -> Iterator[Session]:
    """One read transaction on the replica when there is one that answers, else on the primary."""
    replica = replica_for(primary)
    conn = replica.connect() if replica is not None else None
    if conn is None:
        conn = primary.connect()
    with conn, Session(bind=conn, expire_on_commit=False) as session, session.begin():
        act_as(session, actor)
        yield session
