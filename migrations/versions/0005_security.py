"""Security: the reporting and SMS functions refuse a staff session acting without a signed-in user or in
the name of someone of another role, as the ledger functions already did.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from migrations.sqlfile import run_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0005_security.sql")


def downgrade() -> None:
    run_sql("0005_security_downgrade.sql")
