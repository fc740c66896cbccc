"""PAR from running totals by branch and oldest unpaid due date, so that its cost does not grow with the book.

1. `loan_arrears_totals` (branch_id, oldest_unpaid_due_date: 'infinity' when nothing is unpaid, principal
   outstanding, loans) and `loan_arrears_changes`, appended by the trigger `loans_track_arrears` on every change of an
   active or defaulted loan's branch, status, principal outstanding or oldest unpaid due date. Read by no staff role.
2. `loan_arrears_fold()` (the maintenance job) moves the changes into the totals; `loan_arrears_rebuild()` computes
   the totals from the loans (after a load that bypassed triggers); `loan_arrears_drift()` lists where they differ.
3. `calculate_par` (both forms) adds up the totals and the changes in `par_percent`, as astrofin_definer, held to
   the caller's branches by the tables' policies.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0026_par_totals.sql")


def downgrade() -> None:
    run_sql("0026_par_totals_downgrade.sql")
