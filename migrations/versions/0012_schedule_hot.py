"""A payment that leaves an installment partly paid updates it in place (heap-only): the unpaid-installment
indexes are predicated on paid_date IS NULL instead of status, with a CHECK that keeps the two in step, and the
queries that read them say so.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0012_schedule_hot.sql")


def downgrade() -> None:
    run_sql("0012_schedule_hot_downgrade.sql")
