"""Schema: the eleven tables, pg_trgm, audit triggers, database roles and grants.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from alembic import op

from migrations.sqlfile import run_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "audit_logs", "journal_entry_details", "journal_entries", "chart_of_accounts", "sms_histories",
    "sms_templates", "payment_schedules", "transactions", "loans", "customers", "users",
)


def upgrade() -> None:
    run_sql("0001_schema.sql")
    run_sql("0001_audit.sql")
    run_sql("0001_roles.sql")


def downgrade() -> None:
    # Roles are server-wide and stay; their grants on this database's objects go with the objects.
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for sequence in ("customer_number_seq", "loan_number_seq", "journal_entry_number_seq"):
        op.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
    op.execute("DROP FUNCTION IF EXISTS audit_row_change(), audit_logs_append_only(), "
               "audit_current_user_id(), set_updated_at()")
    op.execute("REVOKE USAGE ON SCHEMA public FROM astrofin_app, astrofin_cashier, astrofin_loan_officer, "
               "astrofin_supervisor, astrofin_accountant, astrofin_admin")
