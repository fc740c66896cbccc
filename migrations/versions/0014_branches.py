"""Branches: the head office and the branches under it, with the rows of each kept to its staff by row-level security.

1. `branches` (code, name, parent, materialised path, active, period close, whether tills are required, its own
   receipt sequence); the head office `HQ` is created and every existing row belongs to it.
2. `branch_id` on users, customers, loans, payment_schedules, transactions and journal_entries (and audit_logs):
   a loan follows its customer, its schedule and transactions the loan, a journal entry its transaction.
3. Row-level security on every branch table, from `astrofin_branch_scope()`: the signed-in user's branch and those
   under it (derived from `astrofin.user_id`, never from the client); a session with no signed-in user sees nothing
   unless it is the owner's. The functions that act for staff are owned by `astrofin_definer`, which the policies
   hold like any caller; the views answer for the caller (security_invoker).
4. Receipts `<code>-R-000123` per branch; period close (`close_branch_period`), after which nothing is posted on or
   before the closed date; `transfer_customer` with its loans, audited, the principal still owed moved between the
   branches' books through 1900; branch management functions; PAR and the monthly summary by branch.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0014_branches.sql")


def downgrade() -> None:
    run_sql("0014_branches_downgrade.sql")
