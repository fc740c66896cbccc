"""Late penalties: loan_charges, one row per occurrence of an installment's penalty under its product's rule;
apply_overdue_penalties writes the occurrences due (idempotent, catching up missed days), waive_charge lets a
supervisor waive what of a charge is unpaid, with a reason. penalty_due is the sum of an installment's charges less
their waivers.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0020_penalties.sql")


def downgrade() -> None:
    run_sql("0020_penalties_downgrade.sql")
