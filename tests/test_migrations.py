"""Migrations: head holds the eleven tables, and every revision comes, goes and comes back cleanly."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from db import embedded, migrate
from db.schema_dump import dump_schema

ELEVEN = {
    "users", "customers", "loans", "transactions", "payment_schedules", "sms_templates", "sms_histories",
    "journal_entries", "journal_entry_details", "chart_of_accounts", "audit_logs",
}


def _tables(url):
    eng = create_engine(url, poolclass=pool.NullPool)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        found = set(rows)
    eng.dispose()
    return found - {"alembic_version"}


def test_head_has_the_eleven_tables(db_url):
    assert ELEVEN <= _tables(db_url)
    assert migrate.current_revision(db_url) == migrate.head_revision()


def test_downgrade_base_then_upgrade_head(db_url):
    migrate.downgrade(db_url, "base")
    assert _tables(db_url) == set()
    migrate.upgrade(db_url, "head")
    assert ELEVEN <= _tables(db_url)


def _revisions() -> list[tuple[str, str | None]]:
    """Every revision in migrations/versions with the one below it, oldest first, as Alembic finds them."""
    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql://"))
    found = []
    for rev in reversed(list(script.walk_revisions())):
        down = rev.down_revision
        assert down is None or isinstance(down, str), f"revision {rev.revision} merges branches; test it by hand"
        found.append((rev.revision, down))
    return found


REVISIONS = _revisions()


# What stays when the first revision is downgraded to base: the extension (the database may have had it before;
# the roles, server-wide, stay too and pg_dump does not show them) and Alembic's own version table, empty.
LEFT_AT_BASE = {
    "-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -",
    "-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -; Owner: -",
    "-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -",
    "-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -",
}


def _schema(url: URL) -> str:
    return dump_schema(url, embedded.bin_dir())


def _objects(schema: str) -> set[str]:
    """The object headers of a dump (`-- Name: …; Type: …`), one per table, function, trigger, grant …"""
    return {line for line in schema.splitlines() if line.startswith("-- Name: ")}


def test_every_revision_file_is_tested() -> None:
    """The list the round trip runs over is the revisions folder itself (a new file is covered by itself)."""
    files = {path.stem.split("_")[0] for path in migrate.Path(migrate.SCRIPT_LOCATION, "versions").glob("*.py")}
    assert {revision for revision, _ in REVISIONS} == files
    assert REVISIONS[-1][0] == migrate.head_revision()


@pytest.mark.parametrize(("revision", "down"), REVISIONS, ids=[revision for revision, _ in REVISIONS])
def test_revision_up_down_and_up_again(empty_database: URL, revision: str, down: str | None) -> None:
    """Up to the revision, one step down, up again: the schema below and at the revision come back byte for byte
    (pg_dump --schema-only: tables, views, functions, triggers and grants), and the step down removes something."""
    url = empty_database
    if down is not None:
        migrate.upgrade(url, down)
    below = _schema(url)
    migrate.upgrade(url, revision)
    at = _schema(url)
    assert at != below, f"revision {revision} changes nothing in the schema"
    migrate.downgrade(url, "-1")
    assert migrate.current_revision(url) == down
    after_down = _schema(url)
    if down is None:
        assert _objects(after_down) - _objects(below) == LEFT_AT_BASE
        assert _objects(below) <= _objects(after_down)
    else:
        assert after_down == below, f"downgrading {revision} does not leave the schema of {down}"
    migrate.upgrade(url, revision)
    assert _schema(url) == at, f"{revision} upgraded a second time differs from the first"
