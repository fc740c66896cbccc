-- Back to 0023: no M-Pesa inbox. The repayments and journal entries it posted stay as they were posted (each
-- repayment an ordinary mobile_money one with its M-Pesa code, each suspense, apply or refund entry a balanced entry
-- of its own); the inbox, the statements and the functions go.
DROP FUNCTION mobile_money_reconciliation(date), mobile_money_statement_reconciliation(bigint),
    mobile_money_statement_close(bigint, integer, numeric, numeric, timestamptz, timestamptz, bigint),
    mobile_money_statement_open(text, text, bigint), mobile_money_refund(bigint, bigint, text, text),
    mobile_money_apply(bigint, bigint, bigint, text), mobile_money_suspense_row(bigint, text),
    mobile_money_check_note(text), mobile_money_preview(jsonb), mobile_money_validate(text, numeric), mobile_money_post_batch(bigint[], bigint),
    mobile_money_post(bigint, bigint), mobile_money_post_receipt(bigint, bigint),
    mobile_money_receive_batch(jsonb, bigint, bigint),
    mobile_money_receive(text, timestamptz, numeric, text, text, text, text, jsonb, text, bigint, bigint),
    mobile_money_receive_row(text, timestamptz, numeric, text, text, text, text, jsonb, text, bigint, bigint),
    mobile_money_entry(bigint, date, text, bigint, numeric, text, text), mobile_money_owed(loans),
    mobile_money_match(text), mobile_money_reference(text), mobile_money_clean(text, integer);
DROP TABLE mobile_money_receipts, mobile_money_statements;
DROP FUNCTION mobile_money_receipts_take_branch(), mobile_money_statements_take_branch();
