"""Payments at scale, part 3: record_loan_payment reads the schedule once (what is owed and the allocation),
builds its numbers in line and runs with generic plans; updated_at triggers skip rows the statement already
stamped; the loan summary is refreshed after a schedule UPDATE only for rows that can move it; the audit
trigger reads the user once per statement; the double-entry check reads an entry and its lines in one query;
audit_logs.changed_at is a BRIN index; payment_schedules is stored with fillfactor 90 so a payment's update of
an installment that stays partly paid can stay on its page (HOT).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0010_payment_cost.sql")


def downgrade() -> None:
    run_sql("0010_payment_cost_downgrade.sql")
