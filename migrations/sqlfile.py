"""Revisions execute versioned SQL files from migrations/sql/, so functions and views read as SQL."""

from __future__ import annotations

from pathlib import Path

from alembic import op

SQL_DIR = Path(__file__).with_name("sql")


def run_sql(name: str) -> None:
    """Execute one file as a whole (psycopg sends it as a simple multi-statement query)."""
    sql = (SQL_DIR / name).read_text(encoding="utf-8")
    # The driver connection, with no parameters: '%' in the SQL is then just a character.
    driver = op.get_bind().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(sql)
