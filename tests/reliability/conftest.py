"""Fixtures of the fault harness: one private embedded server for the tests that kill or restart it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.engine import URL

from tests.reliability.faultlib import FaultServer


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
