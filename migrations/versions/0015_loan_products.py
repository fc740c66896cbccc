"""The loan product catalogue.

1. `loan_products`: code (unique, upper-case), name, interest method and repayment frequency, principal,
   rate and term ranges with defaults, a processing fee (percent and/or flat), the penalty rule and early
   settlement fields with defaults that change nothing, is_active. A trigger states every rule of a
   definition with a message beside the field it concerns (CHECKs hold the same rules); everyone reads the
   catalogue, only an admin keeps it (INSERT, UPDATE; never DELETE: retiring is is_active = false).
2. `loans.product_id`, `loans.fee_amount` (worked out by the database when the application is made, so a
   later product edit changes no applied loan) and `transactions.fee_amount` (the fee a disbursement
   collected). A trigger refuses a loan whose terms fall outside its product or whose product is retired;
   loans without a product keep the rules they had.
3. The processing fee is collected at disbursement: Dr 1200 principal; Cr 1000 principal − fee; Cr 4100 fee.

The downgrade drops all of it and restores the 0014 bodies of create_journal_entry and disburse_loan.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0015_loan_products.sql")


def downgrade() -> None:
    run_sql("0015_loan_products_downgrade.sql")
