-- Back to 0006: create_journal_entry of 0002 and record_loan_payment of 0005.
CREATE OR REPLACE FUNCTION create_journal_entry(p_transaction_id bigint, p_created_by bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_txn      transactions%ROWTYPE;
    v_loan_no  text;
    v_entry    bigint;
    v_original journal_entries%ROWTYPE;
    v_label    text;
BEGIN
    IF p_transaction_id IS NULL THEN
        RAISE EXCEPTION 'Which transaction? The transaction id is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_created_by, ARRAY['cashier', 'supervisor'], 'post a journal entry');
    SELECT * INTO v_txn FROM transactions t WHERE t.id = p_transaction_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Transaction % does not exist', p_transaction_id USING ERRCODE = 'P0101';
    END IF;
    SELECT e.id INTO v_entry FROM journal_entries e WHERE e.transaction_id = p_transaction_id;
    IF FOUND THEN
        RETURN v_entry;
    END IF;
    SELECT l.loan_number INTO v_loan_no FROM loans l WHERE l.id = v_txn.loan_id;
    v_label := coalesce(' ' || v_txn.receipt_number, '');

    IF v_txn.transaction_type = 'reversal' THEN
        SELECT * INTO v_original FROM journal_entries e WHERE e.transaction_id = v_txn.reverses_transaction_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Transaction % reverses transaction %, which has no journal entry to mirror',
                v_txn.id, v_txn.reverses_transaction_id USING ERRCODE = 'P0108';
        END IF;
        INSERT INTO journal_entries (entry_date, description, transaction_id, reverses_entry_id, created_by)
        VALUES (v_txn.transaction_date, 'Reversal of ' || v_original.entry_number || ' on loan ' || v_loan_no,
                v_txn.id, v_original.id, p_created_by)
        RETURNING id INTO v_entry;
        -- The mirror: the original's credits become debits and its debits credits, line for line.
        INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
        SELECT v_entry, d.account_id, d.credit, d.debit, 'Reversal: ' || coalesce(d.description, '')
          FROM journal_entry_details d WHERE d.journal_entry_id = v_original.id ORDER BY d.id;
        RETURN v_entry;
    END IF;

    IF v_txn.transaction_type NOT IN ('disbursement', 'repayment', 'write_off') THEN
        RAISE EXCEPTION 'No postings are defined for a % transaction', v_txn.transaction_type
            USING ERRCODE = 'P0107';
    END IF;
    INSERT INTO journal_entries (entry_date, description, transaction_id, created_by)
    VALUES (v_txn.transaction_date,
            CASE v_txn.transaction_type
                WHEN 'disbursement' THEN 'Disbursement of loan ' || v_loan_no
                WHEN 'repayment' THEN 'Repayment' || v_label || ' on loan ' || v_loan_no
                ELSE 'Write-off of loan ' || v_loan_no
            END,
            v_txn.id, p_created_by)
    RETURNING id INTO v_entry;
    CASE v_txn.transaction_type
        WHEN 'disbursement' THEN
            PERFORM ledger_post_line(v_entry, '1200', v_txn.amount, 0, 'Principal disbursed');
            PERFORM ledger_post_line(v_entry, '1000', 0, v_txn.amount, 'Cash paid out');
        WHEN 'repayment' THEN
            PERFORM ledger_post_line(v_entry, '1000', v_txn.amount, 0, 'Cash received');
            PERFORM ledger_post_line(v_entry, '1200', 0, v_txn.principal_amount, 'Principal repaid');
            PERFORM ledger_post_line(v_entry, '4000', 0, v_txn.interest_amount, 'Interest received');
            PERFORM ledger_post_line(v_entry, '4100', 0, v_txn.penalty_amount, 'Penalty received');
        ELSE
            PERFORM ledger_post_line(v_entry, '5000', v_txn.amount, 0, 'Principal written off');
            PERFORM ledger_post_line(v_entry, '1200', 0, v_txn.amount, 'Principal written off');
    END CASE;
    RETURN v_entry;
END $$;

CREATE OR REPLACE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint,
                                    p_idempotency_key text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan      loans%ROWTYPE;
    v_existing  transactions%ROWTYPE;
    v_penalty   numeric;
    v_interest  numeric;
    v_principal numeric;
    v_applied   numeric;
    v_receipt   text;
    v_txn       bigint;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_payment_date IS NULL THEN
        RAISE EXCEPTION 'The payment date is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_check_amount(p_amount, 'payment');
    IF p_idempotency_key IS NOT NULL AND (length(btrim(p_idempotency_key)) = 0 OR length(p_idempotency_key) > 200) THEN
        RAISE EXCEPTION 'The idempotency key must be 1 to 200 characters' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_created_by, ARRAY['cashier', 'supervisor'], 'record a payment');

    -- Payments on one loan queue here, one after the other; the key is checked after the lock, so the
    -- second of two sessions sending the same key sees the first one's committed payment.
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN ledger_same_payment(v_existing, p_loan_id, p_amount);
        END IF;
    END IF;
    PERFORM ledger_check_payable(v_loan, p_amount, p_payment_date);

    SELECT coalesce(sum(a.penalty), 0), coalesce(sum(a.interest), 0), coalesce(sum(a.principal), 0)
      INTO v_penalty, v_interest, v_principal
      FROM ledger_allocate(p_loan_id, p_amount) a;

    -- Receipt numbers come from a sequence: a rolled-back transaction leaves a gap, nothing else does.
    v_receipt := scale_padded_number('R-', nextval('receipt_number_seq'), 6);
    BEGIN
        INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                                  transaction_date, receipt_number, idempotency_key, created_by)
        VALUES (p_loan_id, 'repayment', p_amount, v_principal, v_interest, v_penalty, p_payment_date, v_receipt,
                p_idempotency_key, p_created_by)
        RETURNING id INTO v_txn;
    EXCEPTION WHEN unique_violation THEN
        -- The same key committed meanwhile by a session paying another loan (same loan: the lock above).
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN ledger_same_payment(v_existing, p_loan_id, p_amount);
        END IF;
        RAISE;
    END;

    WITH a AS (SELECT * FROM ledger_allocate(p_loan_id, p_amount)),
         u AS (
            UPDATE payment_schedules s
               SET penalty_paid = s.penalty_paid + a.penalty,
                   interest_paid = s.interest_paid + a.interest,
                   principal_paid = s.principal_paid + a.principal,
                   total_paid = s.total_paid + a.penalty + a.interest + a.principal,
                   status = a.status_after,
                   paid_date = CASE WHEN a.status_after = 'paid' THEN p_payment_date ELSE s.paid_date END
              FROM a
             WHERE s.id = a.schedule_id
            RETURNING a.penalty + a.interest + a.principal AS applied)
    SELECT coalesce(sum(u.applied), 0) INTO v_applied FROM u;
    IF v_applied <> p_amount THEN
        RAISE EXCEPTION 'Payment allocation for loan % applied % of %', v_loan.loan_number, v_applied, p_amount
            USING ERRCODE = 'P0108';
    END IF;

    PERFORM create_journal_entry(v_txn, p_created_by);

    IF NOT EXISTS (SELECT 1 FROM payment_schedules s WHERE s.loan_id = p_loan_id AND s.total_paid < s.total_due) THEN
        UPDATE loans SET status = 'closed', closed_at = ledger_moment(p_payment_date) WHERE id = p_loan_id;
    END IF;
    RETURN v_txn;
END $$;

DROP FUNCTION IF EXISTS create_journal_entry(transactions, text, bigint);
