"""Tills and payment methods: a cashier's day from float to count, cash over and short, M-Pesa and bank payments kept
off the till.

1. `tills` (per branch: code, name, active) and `till_sessions` (one cashier's use of one till: the float from the
   vault, expected and counted cash, the difference, the count by denomination, open → pending_approval → closed),
   under row-level security like the other branch tables; one open session per till and per cashier.
2. `transactions.payment_method` (cash, mobile_money, bank), `payment_reference` (the M-Pesa code or bank reference)
   and `till_session_id` (cash only). Repayments debit, and disbursements pay out of, the method's account: 1000
   cash, 1150 mobile money, 1100 bank.
3. `open_till` (Dr 1000 / Cr 1050 the float), `close_till` (Dr 1050 / Cr 1000 the counted cash when it matches;
   otherwise a reason and nothing posted until `approve_till_close` by another supervisor posts the difference to
   5100); cash taken without an open till is refused where the branch requires tills; a cash reversal pays out of a
   till. Tills are kept with `create_till`, `rename_till`, `set_till_active`; `set_branch_tills_required`.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0017_tills.sql")


def downgrade() -> None:
    run_sql("0017_tills_downgrade.sql")
