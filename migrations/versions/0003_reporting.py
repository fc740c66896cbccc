"""Reporting: days past due, the four views, PAR, defaulting, overdue reminders, maintenance, audit chain.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0003_reporting.sql")
    run_sql("0003_audit_chain.sql")
    run_sql("0003_maintenance.sql")


def downgrade() -> None:
    run_sql("0003_downgrade.sql")
