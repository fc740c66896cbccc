"""Name search under row-level security: customer_name_matches(pattern, split, cap) finds the customers whose
name matches on the trigram indexes, as the owner and within the caller's branches (ILIKE is not leakproof, so a
policy would otherwise keep the indexes from being used), and the repository reads them by id.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0016_name_search_scope.sql")


def downgrade() -> None:
    run_sql("0016_name_search_scope_downgrade.sql")
