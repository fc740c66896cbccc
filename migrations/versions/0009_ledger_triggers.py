"""Payments at scale, part 2: the loan summary refreshed in one statement, the ledger tables audited per
statement (transition tables) instead of per row with the same audit content, the double-entry check once
per journal entry; and the trigram index the name search reads for matches outside the surname's start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0009_ledger_triggers.sql")


def downgrade() -> None:
    run_sql("0009_ledger_triggers_downgrade.sql")
