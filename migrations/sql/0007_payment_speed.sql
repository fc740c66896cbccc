-- Payments at scale: record_loan_payment computes the allocation once, writes the schedule from it, takes
-- the idempotency key with ON CONFLICT instead of a subtransaction, and posts its journal entry through the
-- same posting rules as create_journal_entry without checking the actor and reading the transaction again.
-- What a payment writes (transaction, schedule rows, entry, lines, audit rows) and every error it raises
-- are unchanged.

-- The postings of docs/database.md for a disbursement, repayment or write-off: the one place they are written.
-- Internal: callers have checked the actor and hold the transaction row.
CREATE FUNCTION create_journal_entry(p_txn transactions, p_loan_number text, p_created_by bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_entry bigint;
BEGIN
    IF p_txn.transaction_type NOT IN ('disbursement', 'repayment', 'write_off') THEN
        RAISE EXCEPTION 'No postings are defined for a % transaction', p_txn.transaction_type
            USING ERRCODE = 'P0107';
    END IF;
    INSERT INTO journal_entries (entry_date, description, transaction_id, created_by)
    VALUES (p_txn.transaction_date,
            CASE p_txn.transaction_type
                WHEN 'disbursement' THEN 'Disbursement of loan ' || p_loan_number
                WHEN 'repayment' THEN 'Repayment' || coalesce(' ' || p_txn.receipt_number, '') || ' on loan '
                                      || p_loan_number
                ELSE 'Write-off of loan ' || p_loan_number
            END,
            p_txn.id, p_created_by)
    RETURNING id INTO v_entry;
    -- A zero part posts no line; lines keep the order below.
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    SELECT v_entry, ledger_account_id(l.code), coalesce(l.debit, 0), coalesce(l.credit, 0), l.description
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
     WHERE coalesce(l.debit, 0) <> 0 OR coalesce(l.credit, 0) <> 0
     ORDER BY l.n;
    RETURN v_entry;
END $$;
REVOKE EXECUTE ON FUNCTION create_journal_entry(transactions, text, bigint) FROM PUBLIC;

-- create_journal_entry of 0002: the same checks, the same reversal mirror, the postings above.
CREATE OR REPLACE FUNCTION create_journal_entry(p_transaction_id bigint, p_created_by bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_txn      transactions%ROWTYPE;
    v_loan_no  text;
    v_entry    bigint;
    v_original journal_entries%ROWTYPE;
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
    RETURN create_journal_entry(v_txn, v_loan_no, p_created_by);
END $$;

CREATE OR REPLACE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date,
                                               p_created_by bigint, p_idempotency_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan      loans%ROWTYPE;
    v_existing  transactions%ROWTYPE;
    v_txn       transactions%ROWTYPE;
    v_ids       bigint[];
    v_pen       numeric[];
    v_int       numeric[];
    v_prin      numeric[];
    v_status    text[];
    v_penalty   numeric;
    v_interest  numeric;
    v_principal numeric;
    v_changed   integer;
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

    -- The allocation, once: what each installment receives, and the split of the whole payment.
    SELECT array_agg(a.schedule_id), array_agg(a.penalty), array_agg(a.interest), array_agg(a.principal),
           array_agg(a.status_after), coalesce(sum(a.penalty), 0), coalesce(sum(a.interest), 0),
           coalesce(sum(a.principal), 0)
      INTO v_ids, v_pen, v_int, v_prin, v_status, v_penalty, v_interest, v_principal
      FROM ledger_allocate(p_loan_id, p_amount) a;
    IF v_penalty + v_interest + v_principal <> p_amount THEN
        RAISE EXCEPTION 'Payment allocation for loan % applied % of %', v_loan.loan_number,
            v_penalty + v_interest + v_principal, p_amount USING ERRCODE = 'P0108';
    END IF;

    -- Receipt numbers come from a sequence: a rolled-back transaction leaves a gap, nothing else does.
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                              transaction_date, receipt_number, idempotency_key, created_by)
    VALUES (p_loan_id, 'repayment', p_amount, v_principal, v_interest, v_penalty, p_payment_date,
            scale_padded_number('R-', nextval('receipt_number_seq'), 6), p_idempotency_key, p_created_by)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v_txn;
    IF NOT FOUND THEN
        -- The same key committed meanwhile by a session paying another loan (same loan: the lock above).
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_idempotency_key;
        RETURN ledger_same_payment(v_existing, p_loan_id, p_amount);
    END IF;

    UPDATE payment_schedules s
       SET penalty_paid = s.penalty_paid + a.penalty,
           interest_paid = s.interest_paid + a.interest,
           principal_paid = s.principal_paid + a.principal,
           total_paid = s.total_paid + a.penalty + a.interest + a.principal,
           status = a.status_after,
           paid_date = CASE WHEN a.status_after = 'paid' THEN p_payment_date ELSE s.paid_date END
      FROM unnest(v_ids, v_pen, v_int, v_prin, v_status) AS a(schedule_id, penalty, interest, principal, status_after)
     WHERE s.id = a.schedule_id;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    IF v_changed <> coalesce(cardinality(v_ids), 0) THEN
        RAISE EXCEPTION 'Payment allocation for loan % changed % of % installments', v_loan.loan_number,
            v_changed, cardinality(v_ids) USING ERRCODE = 'P0108';
    END IF;

    PERFORM create_journal_entry(v_txn, v_loan.loan_number, p_created_by);

    IF NOT EXISTS (SELECT 1 FROM payment_schedules s WHERE s.loan_id = p_loan_id AND s.total_paid < s.total_due) THEN
        UPDATE loans SET status = 'closed', closed_at = ledger_moment(p_payment_date) WHERE id = p_loan_id;
    END IF;
    RETURN v_txn.id;
END $$;
