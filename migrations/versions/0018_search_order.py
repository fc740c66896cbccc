"""Name search in the result order under row-level security: customer_name_page_ids reads a range of a name
index in order as the owner, within the caller's branches (lower() and left() are not leakproof, so under the
policy those ranges could not be index conditions), and returns the ids of one page after the keyset; each name
index gets a twin led by branch_id, which one branch's staff read.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0018_search_order.sql")


def downgrade() -> None:
    run_sql("0018_search_order_downgrade.sql")
