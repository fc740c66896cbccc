"""migrate (--create, --reset, --backup) and seed (twice, --demo)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import create_engine, pool, text

from db import migrate
from db.scripts_common import BACKUP_NAME, TABLES
from tests.scripts.helpers import checksums, database_names, fill_every_table, row_count


def test_migrate_create_on_a_missing_database(cli, scratch, pg_server):
    name = scratch()
    result = cli("db", "migrate", "--create", "-d", name)
    assert result.code == 0, result.err
    head = migrate.head_revision()
    assert f"revision {head} (head)" in result.out
    assert migrate.current_revision(pg_server.url(name)) == head
    again = cli("db", "migrate", "-d", name)  # at head already: nothing to do, still fine
    assert again.code == 0 and f"revision {head}" in again.out


def test_migrate_without_create_refuses_a_missing_database(cli, scratch, pg_server):
    name = scratch()
    result = cli("db", "migrate", "-d", name)
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == (
        f"astrofin: database {name!r} does not exist; add --create (-c) to create it")
    assert name not in database_names(pg_server)


def test_migrate_reset_drops_the_data(cli, db_url):
    fill_every_table(db_url)
    assert row_count(db_url, "customers") > 0
    result = cli("db", "migrate", "-r", "-d", db_url.database)
    assert result.code == 0, result.err
    assert migrate.current_revision(db_url) == migrate.head_revision()
    assert all(row_count(db_url, table) == 0 for table in TABLES)


def test_migrate_backup_first(cli, db_url, backups):
    fill_every_table(db_url)
    before = checksums(db_url)
    result = cli("db", "migrate", "-b", "-r", "-d", db_url.database)
    assert result.code == 0, result.err
    dumps = [path for path in backups.iterdir() if BACKUP_NAME.match(path.name)]
    assert len(dumps) == 1 and "backup written" in result.out
    # The backup holds the data as it was before the reset.
    restored = cli("db", "restore", "-r", "-d", db_url.database, str(dumps[0]))
    assert restored.code == 0, restored.err
    assert checksums(db_url) == before


def test_migrate_backup_of_a_new_database_is_skipped_with_a_reason(cli, scratch, backups):
    result = cli("db", "migrate", "-b", "-c", "-d", scratch())
    assert result.code == 0, result.err
    assert "Backup … skipped: nothing to back up yet" in result.err
    assert not backups.exists() or not list(backups.iterdir())


def _demo_counts(url) -> dict[str, int]:
    return {table: row_count(url, table) for table in TABLES}


def test_seed_twice_changes_nothing(cli, scratch, pg_server):
    name = scratch()
    assert cli("db", "migrate", "-c", "-d", name).code == 0
    url = pg_server.url(name)

    first = cli("db", "seed", "-d", name)
    assert first.code == 0, first.err
    assert "15 accounts" in first.out and "3 sms templates" in first.out
    assert row_count(url, "customers") == 0 and row_count(url, "users") == 0
    after_first = _demo_counts(url)
    second = cli("db", "seed", "-d", name)
    assert second.code == 0 and "already seeded" in second.out
    assert _demo_counts(url) == after_first

    demo = cli("db", "seed", "--demo", "-d", name)
    assert demo.code == 0, demo.err
    assert re.search(r"\b\d+ users\b", demo.out) and "customers" in demo.out
    after_demo = checksums(url)
    demo_again = cli("db", "seed", "--demo", "-d", name)
    assert demo_again.code == 0 and "already seeded" in demo_again.out
    assert checksums(url) == after_demo


def test_demo_customers(cli, scratch, pg_server):
    name = scratch()
    assert cli("db", "migrate", "-c", "-d", name).code == 0
    assert cli("db", "seed", "--demo", "-d", name).code == 0
    engine = create_engine(pg_server.url(name), poolclass=pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT first_name, last_name, national_id, phone, date_of_birth, created_by FROM customers")).all()
        # Each demo customer is made by the loan officer of their branch.
        officers = dict(conn.execute(text(
            "SELECT c.id, (SELECT min(u.id) FROM users u WHERE u.branch_id = c.branch_id AND u.role = 'loan_officer') "
            "FROM customers c")).all())
        creators = dict(conn.execute(text("SELECT id, created_by FROM customers")).all())
        found = conn.execute(text(
            "SELECT first_name || ' ' || last_name FROM customers "
            "WHERE (first_name || ' ' || last_name) % 'Zoe Nandu' OR (first_name || ' ' || last_name) ILIKE '%ñandú%'"
        )).scalars().all()
    engine.dispose()
    assert 24 <= len(rows) <= 120  # the demo customers and the demo groups' members (0023)
    assert len({row.national_id for row in rows}) == len(rows)
    assert "Zoë Ñandú" in found
    assert sum(1 for row in rows if row.phone is None) >= 2
    assert all(row.phone.startswith("+2547") and len(row.phone) == 13 for row in rows if row.phone)
    today = date.today()
    assert all(row.date_of_birth <= date(today.year - 18, today.month, 1) for row in rows)
    assert creators == officers and None not in officers.values()


def test_seed_refuses_an_unmigrated_database(cli, scratch, pg_server):
    name = scratch()
    pg_server.create_database(name, template=None)
    result = cli("db", "seed", "-d", name)
    assert result.code == 1
    assert "migrate" in result.err and "Traceback" not in result.output


def test_demo_seed_writes_customers_then_loans_in_every_status_once(cli, scratch, pg_server):
    name = scratch()
    assert cli("db", "migrate", "-c", "-d", name).code == 0
    first = cli("db", "seed", "--demo", "-d", name)
    assert first.code == 0, first.err
    assert " loans" in first.out
    engine = create_engine(pg_server.url(name), poolclass=pool.NullPool)
    with engine.connect() as conn:
        statuses = set(conn.execute(text("SELECT DISTINCT status FROM loans")).scalars())
        loans = conn.execute(text("SELECT count(*) FROM loans")).scalar_one()
    engine.dispose()
    assert statuses == {"pending", "approved", "rejected", "active", "closed", "defaulted", "written_off"}
    second = cli("db", "seed", "--demo", "-d", name)
    assert second.code == 0 and "already seeded" in second.out
    engine = create_engine(pg_server.url(name), poolclass=pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loans")).scalar_one() == loans
    engine.dispose()
