-- Ledger, part 3: who may call what (docs/database.md "Who may do what"). Every function starts with no EXECUTE for
-- PUBLIC; the workflow functions are granted to the roles that may use them and check the acting user
-- themselves. generate_payment_schedule and create_journal_entry are granted to nobody: they run only
-- inside disburse_loan, record_loan_payment, reverse_transaction and write_off_loan (or for the owner,
-- i.e. migrations and maintenance scripts), so a schedule or an entry never appears on its own.
-- The admin role moves no money: it gets only the schedule preview.
REVOKE EXECUTE ON FUNCTION
    ledger_money(numeric),
    ledger_periods_per_year(text),
    ledger_due_date(date, text, integer),
    ledger_moment(date),
    ledger_check_amount(numeric, text),
    ledger_require_actor(bigint, text[], text),
    ledger_account_id(text),
    ledger_schedule_rows(numeric, numeric, text, integer, text, date),
    preview_payment_schedule(numeric, numeric, text, integer, text, date),
    generate_payment_schedule(bigint, bigint),
    ledger_post_line(bigint, text, numeric, numeric, text),
    create_journal_entry(bigint, bigint),
    approve_loan(bigint, bigint),
    reject_loan(bigint, bigint, text),
    disburse_loan(bigint, bigint, date, date),
    ledger_check_payable(loans, numeric, date),
    ledger_allocate(bigint, numeric),
    preview_loan_payment(bigint, numeric, date),
    ledger_same_payment(transactions, bigint, numeric),
    record_loan_payment(bigint, numeric, date, bigint, text),
    ledger_recompute_schedule(bigint),
    reverse_transaction(bigint, bigint, text),
    write_off_loan(bigint, bigint, text, date)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION preview_payment_schedule(numeric, numeric, text, integer, text, date)
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;

GRANT EXECUTE ON FUNCTION
    approve_loan(bigint, bigint),
    reject_loan(bigint, bigint, text),
    reverse_transaction(bigint, bigint, text),
    write_off_loan(bigint, bigint, text, date)
TO astrofin_supervisor;

GRANT EXECUTE ON FUNCTION
    disburse_loan(bigint, bigint, date, date),
    record_loan_payment(bigint, numeric, date, bigint, text),
    preview_loan_payment(bigint, numeric, date)
TO astrofin_cashier, astrofin_supervisor;
