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


# The suite's longest tests (10 s or more each on the 2-core machine, most of it waiting on an app, a link or a
# cluster), started first, longest first: the workers take them one each while the short tests fill in around them,
# instead of one of them starting near the end and running on alone (pyproject.toml: `--dist load` hands tests out in
# this order). A test missing from the list only runs in its usual place.
LONG_FIRST = (
    "tests/wire/test_mosh_link.py",
    "tests/tui/test_bad_input_front.py::test_loan_application_every_field",
    "tests/tills/test_day_pilot.py",
    "tests/tui/test_bad_input_remaining.py::test_loan_reject_reason",
    "tests/tui/test_front_day.py",
    "tests/tui/test_bad_input_front.py::test_customer_form_every_field",
    "tests/cluster/test_failover.py",
    "tests/tui/test_gate.py::test_every_screen_is_gated_for_every_role[supervisor]",
    "tests/tui/test_bad_input_back_office.py::test_admin_user_form_audit_filters_and_template_editor",
    "tests/tui/test_products_screens.py",
    "tests/groups/test_sheet_screen.py",
    "tests/tui/test_front_scale.py",
    "tests/tui/test_bad_input_back_office.py::test_accounting_filters_and_new_account_form",
    "tests/tui/test_typeahead_pty.py",
    "tests/groups/test_sheet_wire.py",
    "tests/tui/test_branches.py",
    "tests/tills/test_till_screens.py",
    "tests/reschedule/test_screens.py",
    "tests/tui/test_front_bad_input.py",
    "tests/ledger/test_properties.py",
    "tests/tui/test_front_words.py",
    "tests/tui/test_back_office_drops.py",
    "tests/tui/test_gate.py",
    "tests/reschedule/test_penalty_properties.py",
    "tests/groups/test_sheet_snapshot.py",
    "tests/tui/test_back_office_tabs.py",
    "tests/reliability/test_bad_input_cli.py",
    "tests/tui/test_bad_input_front.py",
    "tests/tui/test_front_widths.py",
    "tests/tui/test_front_session.py",
    "tests/tui/test_change_password.py",
    "tests/settlement/test_screens.py",
    "tests/tui/test_front_restart.py",
    "tests/tui/test_manual_entry_screen.py",
    "tests/tui/test_accounting_screen.py",
    "tests/groups/test_application_screen.py",
    "tests/groups/test_group_screens.py",
    "tests/pooler",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((n for n, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order
