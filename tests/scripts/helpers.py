"""Helpers for the script tests: checksums of the eleven tables, data in every table, row counts."""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from db.scripts_common import TABLES


def database_names(pg_server) -> set[str]:
    with pg_server.admin.connect() as conn:
        return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())


def checksums(url: URL | str) -> dict[str, tuple[int, str]]:
    """Per table of the design: row count and md5 of all its rows in id order."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            sums: dict[str, tuple[int, str]] = {}
            for table in TABLES:  # names from the fixed list of the design
                query = f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {table} t"  # noqa: S608, E501
                count, digest = conn.execute(text(query)).one()
                sums[table] = (int(count), str(digest))
            return sums
    finally:
        engine.dispose()


def fill_every_table(url: URL | str) -> None:
    """A disbursed loan with its transaction, schedule, journal entry and reminder: data in all eleven tables."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            officer = conn.execute(text("SELECT id FROM users WHERE username = 'officer'")).scalar_one()
            customer = conn.execute(text(
                "INSERT INTO customers (first_name, last_name, national_id, phone) "
                "VALUES ('Test', 'Borrower', 'T-1', '+254700000001') "
                "ON CONFLICT (national_id) WHERE national_id IS NOT NULL DO UPDATE SET phone = EXCLUDED.phone "
                "RETURNING id")).scalar_one()
            loan = conn.execute(text(
                "INSERT INTO loans (customer_id, principal_amount, interest_rate, interest_method, term, "
                "repayment_frequency, status, disbursement_date, loan_officer_id, created_by) "
                "VALUES (:c, 10000.00, 12.0000, 'flat', 2, 'monthly', 'active', DATE '2026-01-05', :o, :o) "
                "RETURNING id"), {"c": customer, "o": officer}).scalar_one()
            txn = conn.execute(text(
                "INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, "
                "receipt_number, created_by) VALUES (:l, 'disbursement', 10000.00, 10000.00, DATE '2026-01-05', "
                "'R-TEST-1', :o) RETURNING id"), {"l": loan, "o": officer}).scalar_one()
            for number, due in ((1, "2026-02-05"), (2, "2026-03-05")):
                conn.execute(text(
                    "INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, "
                    "interest_due, total_due) VALUES (:l, :n, CAST(:d AS date), 5000.00, 100.00, 5100.00)"),
                    {"l": loan, "n": number, "d": due})
            entry = conn.execute(text(
                "INSERT INTO journal_entries (entry_date, description, transaction_id, created_by) "
                "VALUES (DATE '2026-01-05', 'Disbursement', :t, :o) RETURNING id"),
                {"t": txn, "o": officer}).scalar_one()
            conn.execute(text(
                "INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit) VALUES "
                "(:e, (SELECT id FROM chart_of_accounts WHERE account_code = '1200'), 10000.00, 0), "
                "(:e, (SELECT id FROM chart_of_accounts WHERE account_code = '1000'), 0, 10000.00)"),
                {"e": entry})
            conn.execute(text(
                "INSERT INTO sms_histories (customer_id, loan_id, template_id, phone_number, message, created_by) "
                "VALUES (:c, :l, (SELECT id FROM sms_templates WHERE name = 'loan_disbursed'), '+254700000001', "
                "'Dear Test, your loan has been disbursed.', :o)"), {"c": customer, "l": loan, "o": officer})
    finally:
        engine.dispose()


def row_count(url: URL | str, table: str) -> int:
    assert table in TABLES
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    finally:
        engine.dispose()
