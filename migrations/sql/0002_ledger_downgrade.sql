-- Undo revision 0002: the ledger functions, the integrity triggers, the receipt sequence and the
-- columns it added. Posted rows stay (they belong to 0001's tables).
DROP FUNCTION IF EXISTS
    write_off_loan(bigint, bigint, text, date),
    reverse_transaction(bigint, bigint, text),
    ledger_recompute_schedule(bigint),
    record_loan_payment(bigint, numeric, date, bigint, text),
    ledger_same_payment(transactions, bigint, numeric),
    preview_loan_payment(bigint, numeric, date),
    ledger_allocate(bigint, numeric),
    ledger_check_payable(loans, numeric, date),
    disburse_loan(bigint, bigint, date, date),
    reject_loan(bigint, bigint, text),
    approve_loan(bigint, bigint),
    create_journal_entry(bigint, bigint),
    ledger_post_line(bigint, text, numeric, numeric, text),
    generate_payment_schedule(bigint, bigint),
    preview_payment_schedule(numeric, numeric, text, integer, text, date),
    ledger_schedule_rows(numeric, numeric, text, integer, text, date),
    ledger_account_id(text),
    ledger_require_actor(bigint, text[], text),
    ledger_check_amount(numeric, text),
    ledger_moment(date),
    ledger_due_date(date, text, integer),
    ledger_periods_per_year(text),
    ledger_money(numeric);

DROP TRIGGER IF EXISTS journal_entry_details_balanced ON journal_entry_details;
DROP TRIGGER IF EXISTS journal_entries_balanced ON journal_entries;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();

DROP TRIGGER IF EXISTS journal_entry_details_no_truncate ON journal_entry_details;
DROP TRIGGER IF EXISTS journal_entry_details_immutable ON journal_entry_details;
DROP TRIGGER IF EXISTS journal_entries_no_truncate ON journal_entries;
DROP TRIGGER IF EXISTS journal_entries_immutable ON journal_entries;
DROP TRIGGER IF EXISTS transactions_no_truncate ON transactions;
DROP TRIGGER IF EXISTS transactions_immutable ON transactions;
DROP FUNCTION IF EXISTS ledger_refuse_change();

DROP SEQUENCE IF EXISTS receipt_number_seq;

ALTER TABLE loans DROP COLUMN IF EXISTS write_off_reason;
ALTER TABLE loans DROP COLUMN IF EXISTS written_off_by;
ALTER TABLE loans DROP COLUMN IF EXISTS disbursed_by;
