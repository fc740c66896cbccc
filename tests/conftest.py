"""Test harness: one embedded PostgreSQL per session, a template migrated once, a fresh database per test."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Pin everything that leaks from a developer's environment before Textual or the wheel are imported.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="astrofin-tests-"))
os.chmod(_SESSION_HOME, 0o755)
# The session's server data and XDG folders go with the process (each xdist worker has its own): a run
# leaves nothing behind in the temporary folder, however many runs a machine sees.
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
for _var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_var] = str(_SESSION_HOME / _var.split("_")[1].lower())
for _var in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "ASTROFIN_ENV", "SSH_CONNECTION",
             "ASTROFIN_PROFILE", "TEXTUAL_THEME", "NO_COLOR", "TEXTUAL_ANIMATIONS", "TEXTUAL_FPS"):
    os.environ.pop(_var, None)
os.environ["LC_ALL"] = "C.UTF-8"
os.environ.pop("LANG", None)
# The project's own modules compile once for the whole run, not again in each app, script or worker a test starts.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest  # noqa: E402
from sqlalchemy import Engine, create_engine, pool, text  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from db import embedded, migrate  # noqa: E402
from db.engine import with_database  # noqa: E402
from db.seed import seed_database  # noqa: E402

TEMPLATE = "astrofin_template"


class PgServer:
    """The session's server: URLs for any database on it, and the bundled client tools."""

    def __init__(self, server: embedded.EmbeddedServer) -> None:
        self.server = server
        self.base_url = URL.create(
            "postgresql+psycopg",
            username="postgres",
            database="postgres",
            query={"host": server.socket_dir, "port": str(server.port)},
        )
        self.admin = create_engine(self.base_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def url(self, database: str) -> URL:
        return with_database(self.base_url, database)

    def create_database(self, name: str, template: str | None = TEMPLATE) -> URL:
        with self.admin.connect() as conn:
            if template:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            else:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = embedded.start(_SESSION_HOME / "pgdata", cleanup_mode="stop")
    pg = PgServer(server)
    # Each test creates a database from the template and drops it after; a drop is a checkpoint, and with fsync
    # each waited on the disk (about a second a test on a busy machine, against 0.1 s without). A SIGKILL, the
    # crash the tests make, never drops the operating system's page cache, so without fsync they show the same
    # (docs/reliability.md); a power cut is PostgreSQL's own guarantee, not these tests'.
    with pg.admin.connect() as conn:
        conn.execute(text("ALTER SYSTEM SET fsync = off"))
        conn.execute(text("ALTER SYSTEM SET full_page_writes = off"))
        conn.execute(text("SELECT pg_reload_conf()"))
    pg.drop_database(TEMPLATE)
    pg.create_database(TEMPLATE, template=None)
    migrate.upgrade(pg.url(TEMPLATE))
    # Reference data and the five demo accounts (password "<username>-demo"), hashed once per session;
    # no customers or loans, so each test starts from a known, empty book.
    seed_database(pg.url(TEMPLATE), demo=True, staff_only=True)
    yield pg
    pg.admin.dispose()
    server.stop()


@pytest.fixture
def server_home() -> Iterator[Path]:
    """A folder for a test's own PostgreSQL server, outside pytest's tmp_path base.

    As root, the server runs as another system user that must traverse every parent folder; pytest makes
    its base folder owner-only again whenever another pytest session starts on the machine.
    """
    folder = Path(tempfile.mkdtemp(prefix="astrofin-server-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def db_url(pg_server: PgServer) -> Iterator[URL]:
    """A fresh, migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def empty_database(pg_server: PgServer) -> Iterator[URL]:
    """A database of its own with no revision applied (not the migrated template), dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_server.create_database(name, template=None)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def engine(db_url: URL) -> Iterator[Engine]:
    """A superuser engine on the test's database (the embedded server's `postgres`)."""
    eng = create_engine(db_url, poolclass=pool.NullPool)
    yield eng
    eng.dispose()
