"""Bulk import of customers, loans (with their state) and repayments from CSV templates.

1. `import_rows` (kind, key, entity_id, imported_at, imported_by, file_sha256), unique by (kind, key): the row of a
   file that was imported, written in that row's own transaction, so running the same file again skips it. Owner
   only: staff read it through `import_keys_done`.
2. The "Opening Balances" equity account (3100): a loan disbursed before the import is Dr 1200 / Cr 3100, what was
   repaid on it before the import Dr 3100 / Cr 1200 (its principal part).
3. `import_customer`, `import_loan`, `import_repayment`: one row each, keyed, by an administrator, supervisor or
   accountant; `import_keys_done` and `import_national_ids_taken` for the validation pass.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from migrations.sqlfile import run_sql

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql("0025_bulk_import.sql")


def downgrade() -> None:
    run_sql("0025_bulk_import_downgrade.sql")
