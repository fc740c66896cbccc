"""M-Pesa repayments: the inbox, matching, posting once, the suspense ledger, statements and their reconciliation.

1. `mobile_money_statements` (one row per imported org-portal statement, by its file's sha256, with its totals) and
   `mobile_money_receipts` (the inbox: every receipt once by its M-Pesa receipt number, as received, and how it was
   posted), under row-level security like the other branch tables: a receipt belongs to the branch of its loan,
   else of its customer, else of whoever received it (the head office for the M-Pesa service user).
2. `mobile_money_receive` (and `_batch`, each row in its own subtransaction) and `mobile_money_post` (and `_batch`):
   matched by the account reference (loan number, customer number or national ID; upper-cased, spaces removed) and
   posted through `ledger_take_repayment` as a mobile_money repayment (a recovery on a written-off loan); what matches
   nothing or more than one loan, a loan that takes nothing, and what is more than the loan owes go to suspense
   (Dr 1150 / Cr 2100). Posted once however often called: the inbox row is locked.
3. `mobile_money_validate` (Daraja's C2B validation codes), `mobile_money_apply` and `mobile_money_refund` (an
   accountant or a supervisor, with a note: Dr 2100 / Cr 1150, then the repayment for an apply),
   `mobile_money_statement_open` / `_close`, `mobile_money_statement_reconciliation`, `mobile_money_reconciliation`.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0024_mobile_money.sql")


def downgrade() -> None:
    run_sql("0024_mobile_money_downgrade.sql")
