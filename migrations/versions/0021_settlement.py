"""Early settlement and recoveries: `payoff_quote` (everything due, all principal still owed, and the interest the
product's `early_settlement_interest` keeps), `settle_loan` (exactly the quote: the rest of the interest waived on the
schedule, one ordinary repayment, the loan closed), and a payment on a written-off loan taken as a `recovery`
(Dr the method's account / Cr 4300 Bad Debt Recovered, never more than was written off, reversible).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0021_settlement.sql")


def downgrade() -> None:
    run_sql("0021_settlement_downgrade.sql")
