"""Ledger: schedule math, loan workflow, payments, journal, reversals, write-offs (PL/pgSQL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from migrations.sqlfile import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE_FILES = ("0002_ledger_schema.sql", "0002_ledger_functions.sql", "0002_ledger_grants.sql")


def upgrade() -> None:
    for name in UPGRADE_FILES:
        run_sql(name)


def downgrade() -> None:
    run_sql("0002_ledger_downgrade.sql")
