"""Payments at scale: record_loan_payment allocates once, takes its idempotency key with ON CONFLICT, and
posts its journal entry through create_journal_entry(transaction row, loan number, user), the
postings the two-argument create_journal_entry also uses.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0007_payment_speed.sql")


def downgrade() -> None:
    run_sql("0007_payment_speed_downgrade.sql")
