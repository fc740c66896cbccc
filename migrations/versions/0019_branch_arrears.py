"""PAR and arrears by branch under row-level security: loans_branch_arrears_idx, the active loans' arrears index
led by branch_id, so that a scope of any size reads its own branches' loans from the index alone; loans vacuumed after
2 % of its rows changed, so that the index alone stays enough through a day of payments.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0019_branch_arrears.sql")


def downgrade() -> None:
    run_sql("0019_branch_arrears_downgrade.sql")
