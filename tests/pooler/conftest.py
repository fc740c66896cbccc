"""PgBouncer in transaction pooling in front of the session's server (bench/pgbouncer.py), and what a server
connection carries from one transaction to the next."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import URL

from bench.pgbouncer import Bouncer, PoolerUnavailable, pgbouncer

POOL_SIZE = 3
"""Server connections per database and user: a dozen clients share three."""


@pytest.fixture(scope="session")
def bouncer(pg_server) -> Iterator[Bouncer]:  # type: ignore[no-untyped-def]
    try:
        # The staff's login role in transaction pooling; the owner (the operator's tools: backups, migrations) in
        # session pooling, as docs/scaling.md advises a deployment.
        with pgbouncer(pg_server.server.socket_dir, pg_server.server.port, pool_size=POOL_SIZE,
                       users={"postgres": "pool_mode=session"}) as running:
            yield running
    except PoolerUnavailable as exc:
        pytest.skip(f"no PgBouncer here: {exc}")


@pytest.fixture
def pooled_url(bouncer: Bouncer, db_url: URL) -> URL:
    """The test's database through PgBouncer, as the application's login role."""
    return bouncer.url(db_url.database or "", "astrofin_app")


@dataclass(frozen=True)
class ServerState:
    """What a transaction finds on its server connection before it sets anything."""

    backend: int
    current_user: str
    role: str
    user_id: str | None
    synchronous_commit: str
    sign_in: str | None

    @property
    def clean(self) -> bool:
        return (self.current_user == "astrofin_app" and self.role == "none" and not self.user_id
                and self.synchronous_commit == "on" and not self.sign_in)


STATE_SQL = ("SELECT pg_backend_pid(), current_user, current_setting('role'), "
             "current_setting('astrofin.user_id', true), current_setting('synchronous_commit'), "
             "current_setting('astrofin.sign_in', true)")


def every_server_connection(url: URL, count: int = POOL_SIZE) -> list[ServerState]:
    """The state of each of the pool's `count` server connections: as many transactions held open at once, so
    PgBouncer must give each a server connection of its own; each reads its state as its first statement."""
    conninfo = {"host": url.host, "port": url.port, "dbname": url.database, "user": url.username}
    clients = [psycopg.connect(**conninfo, prepare_threshold=None) for _ in range(count)]  # type: ignore[arg-type]
    try:
        states = [ServerState(*client.execute(STATE_SQL).fetchone()) for client in clients]  # type: ignore[misc]
        for client in clients:
            client.rollback()
    finally:
        for client in clients:
            client.close()
    assert len({state.backend for state in states}) == count, f"not {count} server connections: {states}"
    return states
