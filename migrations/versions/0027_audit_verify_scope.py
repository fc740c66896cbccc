"""Verifying the audit chain is head-office work: `verify_audit_log()` refuses a caller who does not see every
branch (a branch's administrator, a login with nobody signed in), who would otherwise be told that the rows hidden
from them were deleted. The check itself is unchanged, as `verify_audit_log_unscoped()`.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0027_audit_verify_scope.sql")


def downgrade() -> None:
    run_sql("0027_audit_verify_scope_downgrade.sql")
