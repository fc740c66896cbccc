from sqlalchemy import create_engine, pool, text

from db import migrate

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
