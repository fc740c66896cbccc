"""Name search as a cashier types: two- and three-character fragments match the start of the surname or the
first name, each part an ordered index range; the first-name prefix indexes that make it one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from migrations.sqlfile import run_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0011_name_prefix.sql")


def downgrade() -> None:
    run_sql("0011_name_prefix_downgrade.sql")
