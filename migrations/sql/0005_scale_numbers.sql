-- Numbers past their width: lpad() cuts a longer string, so the millionth customer would get C-100000
-- (already taken) and the millionth receipt R-100000. Numbers keep their width and grow past it instead.
CREATE FUNCTION scale_padded_number(p_prefix text, p_n bigint, p_width integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_prefix || lpad(p_n::text, greatest(p_width, length(p_n::text)), '0')
$$;
ALTER TABLE customers ALTER COLUMN customer_number
    SET DEFAULT scale_padded_number('C-', nextval('customer_number_seq'), 6);
ALTER TABLE loans ALTER COLUMN loan_number SET DEFAULT scale_padded_number('L-', nextval('loan_number_seq'), 6);
ALTER TABLE journal_entries ALTER COLUMN entry_number
    SET DEFAULT scale_padded_number('JE-', nextval('journal_entry_number_seq'), 7);

-- record_loan_payment of 0002 with its receipt number from scale_padded_number; nothing else changes.
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
