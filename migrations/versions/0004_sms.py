"""SMS delivery: claim, retry and delivery columns on sms_histories, and the admin's requeue function.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op

from migrations.sqlfile import run_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0004_sms.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS requeue_failed_sms(bigint[], bigint)")
    op.execute("DROP INDEX IF EXISTS sms_histories_status_id_idx")
    op.execute("DROP INDEX IF EXISTS sms_histories_claimed_idx")
    op.execute("DROP INDEX IF EXISTS sms_histories_provider_message_idx")
    op.execute("ALTER TABLE sms_histories DROP COLUMN IF EXISTS claimed_at, DROP COLUMN IF EXISTS claimed_by, "
               "DROP COLUMN IF EXISTS sending_at, DROP COLUMN IF EXISTS next_attempt_at, "
               "DROP COLUMN IF EXISTS delivered_at, DROP COLUMN IF EXISTS segments, "
               "DROP COLUMN IF EXISTS encoding")
