"""Revision 0002 comes and goes cleanly: its downgrade drops everything its upgrade created."""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from db import migrate

CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname FROM pg_trigger
 WHERE NOT tgisinternal
UNION ALL
SELECT 'relation ' || c.relkind::text || ' ' || c.relname FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
 WHERE table_schema = 'public'
"""


def _catalog(url: object, query: str = CATALOG) -> set[str]:
    """The rows of a catalog listing (`query`, one text column) for the database at `url`."""
    eng = create_engine(url, poolclass=pool.NullPool)  # type: ignore[call-overload]
    with eng.connect() as conn:
        found = set(conn.execute(text(query)).scalars())
    eng.dispose()
    return found


def test_downgrade_to_0001_removes_the_ledger_and_upgrade_restores_it(empty_database: URL) -> None:
    url = empty_database
    migrate.upgrade(url, "0001")
    at_0001 = _catalog(url)
    migrate.upgrade(url, "0002")
    at_0002 = _catalog(url)
    assert "function record_loan_payment(bigint,numeric,date,bigint,text)" in at_0002
    assert "relation S receipt_number_seq" in at_0002
    migrate.downgrade(url, "0001")
    assert _catalog(url) == at_0001
    migrate.upgrade(url, "0002")
    assert _catalog(url) == at_0002
