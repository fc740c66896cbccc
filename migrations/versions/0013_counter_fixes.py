"""What branch staff found at the counter, in the database.

1. A schedule never holds installments of 0.00: ledger_schedule_rows (behind preview_payment_schedule and
   generate_payment_schedule) refuses terms whose rounded installment would repay the loan before its last
   installment, and says the longest shorter term that works; the refusal names the `term` column, which the
   repositories turn into a message beside the term field. Databases already hold such loans (any disbursed
   loan at a high rate and long term, e.g. 1,000.00 at 99.99 %, 104 monthly), so the upgrade repairs them:
   the installments of 0.00 are always the tail after the installment that repaid the loan and nothing was
   ever paid on them, so they are deleted and the loan's term becomes the number of installments it really
   has. A closed loan then has no unpaid installment and 0 days past due. The downgrade restores the old
   function definitions but not the deleted rows (they owed nothing).
2. Customer search by the last digits of a phone: customers_phone_reverse_idx, an expression index on
   reverse(phone) with text_pattern_ops, so "phone ends with these digits" is one index range at a million
   customers. Phones are already stored in E.164 (a CHECK since 0001), so no row needs rewriting; the forms
   people write (0712 345 678, 712345678, 254712345678, +254 712 345 678) are normalised before saving.
3. users.must_change_password (false for every existing account): set by an administrator's reset, read at
   sign-in, cleared when the person changes their own password on the login role, which may update it.
4. Manual journal entries for accountants: post_manual_journal_entry(entry_date, description, lines jsonb,
   created_by) and reverse_manual_journal_entry(entry_id, reason, reversed_by, entry_date DEFAULT NULL),
   granted to astrofin_accountant only; balanced, dated (not in the future), described, audited by the
   journal tables' triggers, never edited, reversed once by a mirrored entry. The downgrade drops the
   functions and keeps the entries posted with them (they balance and are part of the books).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0013_counter_fixes.sql")


def downgrade() -> None:
    run_sql("0013_counter_fixes_downgrade.sql")
