-- Back to 0013: no product catalogue, no processing fee. create_journal_entry and disburse_loan get their
-- 0013 bodies back (a disbursement posts the whole principal as cash paid out). Fees already collected stay
-- in the books as posted (their entries balance); the columns that recorded them go.

CREATE OR REPLACE FUNCTION create_journal_entry(p_txn transactions, p_loan_number text, p_created_by bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_entry  bigint;
    v_number bigint;
BEGIN
    IF p_txn.transaction_type NOT IN ('disbursement', 'repayment', 'write_off') THEN
        RAISE EXCEPTION 'No postings are defined for a % transaction', p_txn.transaction_type
            USING ERRCODE = 'P0107';
    END IF;
    -- The column default's number (scale_padded_number('JE-', nextval(…), 7)), built here.
    v_number := nextval('journal_entry_number_seq');
    INSERT INTO journal_entries (entry_number, entry_date, description, transaction_id, created_by)
    VALUES ('JE-' || lpad(v_number::text, greatest(7, length(v_number::text)), '0'),
            p_txn.transaction_date,
            CASE p_txn.transaction_type
                WHEN 'disbursement' THEN 'Disbursement of loan ' || p_loan_number
                WHEN 'repayment' THEN 'Repayment' || coalesce(' ' || p_txn.receipt_number, '') || ' on loan '
                                      || p_loan_number
                ELSE 'Write-off of loan ' || p_loan_number
            END,
            p_txn.id, p_created_by)
    RETURNING id INTO v_entry;
    -- A zero part posts no line; lines keep the order below. An account missing from the chart raises
    -- ledger_account_id's error.
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    SELECT v_entry, coalesce(a.id, ledger_account_id(l.code)), coalesce(l.debit, 0), coalesce(l.credit, 0),
           l.description
      FROM (VALUES
            (1, CASE p_txn.transaction_type WHEN 'disbursement' THEN '1200' WHEN 'repayment' THEN '1000'
                                            ELSE '5000' END,
                p_txn.amount, 0::numeric,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN 'Principal disbursed'
                                            WHEN 'repayment' THEN 'Cash received' ELSE 'Principal written off' END),
            (2, CASE p_txn.transaction_type WHEN 'disbursement' THEN '1000' ELSE '1200' END,
                0::numeric,
                CASE p_txn.transaction_type WHEN 'repayment' THEN p_txn.principal_amount ELSE p_txn.amount END,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN 'Cash paid out'
                                            WHEN 'repayment' THEN 'Principal repaid' ELSE 'Principal written off' END),
            (3, '4000', 0::numeric, CASE WHEN p_txn.transaction_type = 'repayment' THEN p_txn.interest_amount END,
                'Interest received'),
            (4, '4100', 0::numeric, CASE WHEN p_txn.transaction_type = 'repayment' THEN p_txn.penalty_amount END,
                'Penalty received')
           ) AS l(n, code, debit, credit, description)
      LEFT JOIN chart_of_accounts a ON a.account_code = l.code
     WHERE coalesce(l.debit, 0) <> 0 OR coalesce(l.credit, 0) <> 0
     ORDER BY l.n;
    RETURN v_entry;
END $$;

CREATE OR REPLACE FUNCTION disburse_loan(p_loan_id bigint, p_disbursed_by bigint, p_disbursement_date date DEFAULT NULL, p_first_repayment_date date DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_loan  loans%ROWTYPE;
    v_date  date := coalesce(p_disbursement_date, current_date);
    v_first date;
    v_txn   bigint;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_disbursed_by, ARRAY['cashier', 'supervisor'], 'disburse a loan');
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status <> 'approved' THEN
        RAISE EXCEPTION 'Loan % is %; only an approved loan can be disbursed', v_loan.loan_number, v_loan.status
            USING ERRCODE = 'P0102';
    END IF;
    IF v_date > current_date THEN
        RAISE EXCEPTION 'The disbursement date % is in the future', v_date USING ERRCODE = 'P0104';
    END IF;
    IF v_date < v_loan.application_date THEN
        RAISE EXCEPTION 'The disbursement date % is before the application date %', v_date, v_loan.application_date
            USING ERRCODE = 'P0104';
    END IF;
    v_first := coalesce(p_first_repayment_date, ledger_due_date(v_date, v_loan.repayment_frequency, 2));
    IF v_first <= v_date THEN
        RAISE EXCEPTION 'The first repayment date % must be after the disbursement date %', v_first, v_date
            USING ERRCODE = 'P0104';
    END IF;
    UPDATE loans
       SET status = 'active', disbursement_date = v_date, first_repayment_date = v_first,
           disbursed_by = p_disbursed_by
     WHERE id = p_loan_id;
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, created_by)
    VALUES (p_loan_id, 'disbursement', v_loan.principal_amount, v_loan.principal_amount, v_date, p_disbursed_by)
    RETURNING id INTO v_txn;
    PERFORM create_journal_entry(v_txn, p_disbursed_by);
    PERFORM generate_payment_schedule(p_loan_id, p_disbursed_by);
    RETURN v_txn;
END $$;

DROP TRIGGER loans_check_product ON loans;
DROP FUNCTION loans_check_product();
ALTER TABLE transactions DROP COLUMN fee_amount;
DROP INDEX loans_product_id_idx;
ALTER TABLE loans DROP COLUMN fee_amount, DROP COLUMN product_id;

DROP TABLE loan_products;
DROP FUNCTION loan_products_check();
DROP FUNCTION loan_product_range_text(text, text);
DROP FUNCTION loan_product_fee(bigint, numeric);
