-- Back to 0024: no bulk import. What was imported stays (customers, loans, their transactions and journal entries
-- are ordinary rows); the record of which file rows were imported goes, and with it the rerun's memory. The
-- Opening Balances account stays when entries use it.
DROP FUNCTION import_repayment(bigint, text, text, text, numeric, date, text),
    import_loan(bigint, text, text, text, text, text, numeric, numeric, integer, date, date, numeric, text),
    import_customer(bigint, text, text, text, text, text, text, date, text, text, text, text),
    import_national_ids_taken(text[], bigint), import_keys_done(text, text[], bigint), import_branch(text),
    import_check_key(text, text), import_require_actor(bigint);
DROP TABLE import_rows;
DELETE FROM chart_of_accounts a
 WHERE a.account_code = '3100'
   AND NOT EXISTS (SELECT 1 FROM journal_entry_details d WHERE d.account_id = a.id);
