"""Security: the reporting and SMS functions refuse a staff session acting without a signed-in user or in
the name of someone of another role, as the ledger functions already did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0006_security.sql")


def downgrade() -> None:
    run_sql("0006_security_downgrade.sql")
