"""Fixtures of the fault harness: one private embedded server for the tests that kill or restart it."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.engine import URL

from tests.reliability.faultlib import FaultServer
from tests.tui.conftest import access_log, actors, app_engine  # noqa: F401 - the Pilot tests' fixtures


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    """A server of this folder's own (never the session's shared one): these tests SIGKILL it.

    Its folder is a private temporary folder rather than pytest's tmp_path: the server runs as another
    system user when the tests run as root, and pytest makes its base folder 0700 again whenever another
    pytest session starts on the machine, which would stop the restart after a kill from reading pgdata.
    """
    root = Path(tempfile.mkdtemp(prefix="astrofin-faults-"))
    root.chmod(0o755)
    server = FaultServer(root)
    try:
        server.prepare_template()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fault_url(fault_server: FaultServer) -> Iterator[URL]:
    url = fault_server.fresh_database()
    yield url
    fault_server.drop_database(url.database or "")


@pytest.fixture
def fault_engine(fault_url: URL) -> Iterator[Engine]:
    """A superuser engine for checking what was written (not the application's engine)."""
    engine = create_engine(fault_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(pg_server: Any, db_url: URL, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Callable[..., Run]:
    """`astrofin …` in-process against the test's database (DB_* variables, as an operator sets them);
    argparse's own exits become a Run too. Streams are captured here, so hypothesis may call it often."""
    from astrofin_tui.cli import main

    monkeypatch.setenv("DB_HOST", pg_server.server.socket_dir)
    monkeypatch.setenv("DB_PORT", str(pg_server.server.port))
    monkeypatch.setenv("DB_NAME", db_url.database or "")
    monkeypatch.setenv("DB_USER", "postgres")
    monkeypatch.setenv("BACKUP_PATH", str(tmp_path / "backups"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> Run:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return Run(code, out.getvalue(), err.getvalue())

    return run
