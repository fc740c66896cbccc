"""Scale: loan summary columns kept by triggers, the arrears index, PAR and the overdue list read from them.

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
    run_sql("0005_scale.sql")
    run_sql("0005_scale_numbers.sql")


def downgrade() -> None:
    run_sql("0005_scale_numbers_downgrade.sql")
    run_sql("0005_scale_downgrade.sql")
