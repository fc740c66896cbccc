-- Back to 0016: no tills, no payment methods. Every payment and disbursement recorded since posts on as it was
-- posted (an M-Pesa or bank payment's entry keeps its 1150 or 1100 line, and a till's float, close and over/short
-- entries stay in the books: each balances); the columns and tables that recorded the method, reference and till
-- go. The payment, disbursement, posting and reversal functions get their 0016 bodies and signatures back.

DROP FUNCTION open_till(bigint, numeric, bigint), close_till(bigint, numeric, text, bigint, jsonb),
    approve_till_close(bigint, bigint), create_till(text, text, bigint), rename_till(bigint, text, bigint),
    set_till_active(bigint, boolean, bigint), set_branch_tills_required(bigint, boolean, bigint),
    till_vault_balance(bigint), till_session_cash(bigint), till_post_entry(bigint, text, bigint),
    till_refuse_overdraw(bigint, numeric), till_denominations_total(jsonb), till_check_name(text), till_money(numeric), till_check_cash(numeric, text, text);

DROP FUNCTION record_loan_payment(bigint, numeric, date, bigint, text, text, text);
DROP FUNCTION disburse_loan(bigint, bigint, date, date, text, text);
DROP FUNCTION till_check_method(text, text);

CREATE OR REPLACE FUNCTION public.create_journal_entry(p_txn public.transactions, p_loan_number text, p_created_by bigint) RETURNS bigint
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
    -- ledger_account_id's error. A disbursement's processing fee stays in the till: the cash paid out is
    -- the principal less the fee, and the fee is income (4100).
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
                CASE p_txn.transaction_type WHEN 'repayment' THEN p_txn.principal_amount
                                            WHEN 'disbursement' THEN p_txn.amount - coalesce(p_txn.fee_amount, 0)
                                            ELSE p_txn.amount END,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN 'Cash paid out'
                                            WHEN 'repayment' THEN 'Principal repaid' ELSE 'Principal written off' END),
            (3, '4000', 0::numeric, CASE WHEN p_txn.transaction_type = 'repayment' THEN p_txn.interest_amount END,
                'Interest received'),
            (4, '4100', 0::numeric,
                CASE p_txn.transaction_type WHEN 'repayment' THEN p_txn.penalty_amount
                                            WHEN 'disbursement' THEN p_txn.fee_amount END,
                CASE WHEN p_txn.transaction_type = 'disbursement' THEN 'Processing fee' ELSE 'Penalty received' END)
           ) AS l(n, code, debit, credit, description)
      LEFT JOIN chart_of_accounts a ON a.account_code = l.code
     WHERE coalesce(l.debit, 0) <> 0 OR coalesce(l.credit, 0) <> 0
     ORDER BY l.n;
    RETURN v_entry;
END $$;

CREATE OR REPLACE FUNCTION public.reverse_transaction(p_transaction_id bigint, p_reversed_by bigint, p_reason text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_txn      transactions%ROWTYPE;
    v_loan     loans%ROWTYPE;
    v_reversal bigint;
BEGIN
    IF p_transaction_id IS NULL THEN
        RAISE EXCEPTION 'Which transaction? The transaction id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_reason IS NULL OR length(btrim(p_reason)) = 0 THEN
        RAISE EXCEPTION 'Give the reason for the reversal' USING ERRCODE = 'P0107';
    END IF;
    IF length(p_reason) > 500 THEN
        RAISE EXCEPTION 'The reason is too long (at most 500 characters)' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_reversed_by, ARRAY['supervisor'], 'reverse a payment');
    SELECT * INTO v_txn FROM transactions t WHERE t.id = p_transaction_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Transaction % does not exist', p_transaction_id USING ERRCODE = 'P0101';
    END IF;
    SELECT * INTO v_loan FROM loans l WHERE l.id = v_txn.loan_id FOR UPDATE;
    IF v_txn.transaction_type <> 'repayment' THEN
        RAISE EXCEPTION 'Only repayments can be reversed; transaction % is a %', v_txn.id, v_txn.transaction_type
            USING ERRCODE = 'P0102';
    END IF;
    SELECT r.id INTO v_reversal FROM transactions r WHERE r.reverses_transaction_id = v_txn.id;
    IF FOUND THEN
        RAISE EXCEPTION 'Payment % was already reversed (transaction %)', coalesce(v_txn.receipt_number, v_txn.id::text),
            v_reversal USING ERRCODE = 'P0102';
    END IF;
    IF v_txn.created_by = p_reversed_by THEN
        RAISE EXCEPTION 'You recorded payment %; another supervisor must reverse it',
            coalesce(v_txn.receipt_number, v_txn.id::text) USING ERRCODE = 'P0105';
    END IF;
    IF v_loan.status NOT IN ('active', 'defaulted', 'closed') THEN
        RAISE EXCEPTION 'Loan % is %; its payments can no longer be reversed', v_loan.loan_number, v_loan.status
            USING ERRCODE = 'P0102';
    END IF;

    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                              transaction_date, reverses_transaction_id, notes, created_by)
    VALUES (v_txn.loan_id, 'reversal', v_txn.amount, v_txn.principal_amount, v_txn.interest_amount,
            v_txn.penalty_amount, current_date, v_txn.id, btrim(p_reason), p_reversed_by)
    RETURNING id INTO v_reversal;
    PERFORM create_journal_entry(v_reversal, p_reversed_by);
    PERFORM ledger_recompute_schedule(v_loan.id);
    -- A closed loan owes again: it reopens (active; the default run marks it again if it is late).
    IF v_loan.status = 'closed'
       AND EXISTS (SELECT 1 FROM payment_schedules s WHERE s.loan_id = v_loan.id AND s.total_paid < s.total_due) THEN
        UPDATE loans SET status = 'active', closed_at = NULL WHERE id = v_loan.id;
    END IF;
    RETURN v_reversal;
END $$;

CREATE FUNCTION public.record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint, p_idempotency_key text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
    v_loan      loans%ROWTYPE;
    v_existing  transactions%ROWTYPE;
    v_txn       transactions%ROWTYPE;
    v_owed      numeric;
    v_ids       bigint[];
    v_pen       numeric[];
    v_int       numeric[];
    v_prin      numeric[];
    v_status    text[];
    v_penalty   numeric;
    v_interest  numeric;
    v_principal numeric;
    v_receipt   bigint;
    v_branch    text;
    v_changed   integer;
    v_entry     bigint;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_payment_date IS NULL THEN
        RAISE EXCEPTION 'The payment date is missing' USING ERRCODE = 'P0107';
    END IF;
    -- ledger_check_amount(p_amount, 'payment'), in line.
    IF p_amount IS NULL THEN
        RAISE EXCEPTION 'The payment amount is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_amount = 'NaN'::numeric THEN
        RAISE EXCEPTION 'The payment amount is not a number' USING ERRCODE = 'P0103';
    END IF;
    IF p_amount <= 0 THEN
        RAISE EXCEPTION 'The payment amount must be more than zero (got %)', p_amount USING ERRCODE = 'P0103';
    END IF;
    IF p_amount > 999999999999.99 THEN
        RAISE EXCEPTION 'The payment amount % is too large (at most 999,999,999,999.99)', p_amount
            USING ERRCODE = 'P0103';
    END IF;
    IF p_amount <> round(p_amount, 2) THEN
        RAISE EXCEPTION 'The payment amount % has more than two decimals', p_amount USING ERRCODE = 'P0103';
    END IF;
    IF p_idempotency_key IS NOT NULL AND (length(btrim(p_idempotency_key)) = 0 OR length(p_idempotency_key) > 200) THEN
        RAISE EXCEPTION 'The idempotency key must be 1 to 200 characters' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_created_by, ARRAY['cashier', 'supervisor'], 'record a payment');

    -- Payments on one loan queue here, one after the other; the key is checked after the lock, so the
    -- second of two sessions sending the same key sees the first one's committed payment.
    -- The counter's hot path runs as the owner, without a policy on every statement: the loan must be in the
    -- caller's branches, and everything below touches that loan's rows only.
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id AND l.branch_id = ANY (astrofin_branch_scope())
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN ledger_same_payment(v_existing, p_loan_id, p_amount);
        END IF;
    END IF;

    -- ledger_check_payable's checks, in its order and with its messages.
    IF v_loan.status NOT IN ('active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; payments are taken only on active or defaulted loans',
            v_loan.loan_number, v_loan.status USING ERRCODE = 'P0102';
    END IF;
    IF p_payment_date > current_date THEN
        RAISE EXCEPTION 'The payment date % is in the future', p_payment_date USING ERRCODE = 'P0104';
    END IF;
    IF p_payment_date < v_loan.disbursement_date THEN
        RAISE EXCEPTION 'The payment date % is before loan % was disbursed on %', p_payment_date,
            v_loan.loan_number, v_loan.disbursement_date USING ERRCODE = 'P0104';
    END IF;

    -- One read of the schedule: what the loan owes, and the allocation of ledger_allocate. An installment
    -- receives what is left of the payment after the installments before it in (due date, number) order,
    -- up to what it owes (a paid installment owes nothing and receives nothing); within it penalty first,
    -- then interest, then principal.
    SELECT coalesce(sum(r.owed), 0),
           array_agg(r.id) FILTER (WHERE r.applied > 0),
           array_agg(r.penalty) FILTER (WHERE r.applied > 0),
           array_agg(r.interest) FILTER (WHERE r.applied > 0),
           array_agg(r.applied - r.penalty - r.interest) FILTER (WHERE r.applied > 0),
           array_agg(CASE WHEN r.applied = r.owed THEN 'paid' ELSE 'partial' END) FILTER (WHERE r.applied > 0),
           coalesce(sum(r.penalty), 0), coalesce(sum(r.interest), 0),
           coalesce(sum(r.applied - r.penalty - r.interest), 0)
      INTO v_owed, v_ids, v_pen, v_int, v_prin, v_status, v_penalty, v_interest, v_principal
      FROM (SELECT a.id, a.owed, a.applied, least(a.applied, a.pen) AS penalty,
                   least(a.applied - least(a.applied, a.pen), a.intr) AS interest
              FROM (SELECT s.id,
                           CASE WHEN s.total_paid < s.total_due THEN s.total_due - s.total_paid ELSE 0 END AS owed,
                           s.penalty_due - s.penalty_paid AS pen, s.interest_due - s.interest_paid AS intr,
                           greatest(least(p_amount - coalesce(sum(CASE WHEN s.total_paid < s.total_due
                                                                       THEN s.total_due - s.total_paid ELSE 0 END)
                                                              OVER (ORDER BY s.due_date, s.installment_number
                                                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                                                              0),
                                          CASE WHEN s.total_paid < s.total_due THEN s.total_due - s.total_paid
                                               ELSE 0 END),
                                    0) AS applied
                      FROM payment_schedules s WHERE s.loan_id = p_loan_id) a) r;
    IF p_amount > v_owed THEN
        RAISE EXCEPTION 'A payment of % is more than loan % owes: the outstanding amount is %',
            ledger_money(p_amount), v_loan.loan_number, ledger_money(v_owed) USING ERRCODE = 'P0103';
    END IF;
    IF v_penalty + v_interest + v_principal <> p_amount THEN
        RAISE EXCEPTION 'Payment allocation for loan % applied % of %', v_loan.loan_number,
            v_penalty + v_interest + v_principal, p_amount USING ERRCODE = 'P0108';
    END IF;

    -- Receipt numbers come from the branch's sequence, after its code: a rolled-back transaction leaves a gap,
    -- nothing else does.
    SELECT b.code, nextval(b.receipt_sequence) INTO v_branch, v_receipt FROM branches b WHERE b.id = v_loan.branch_id;
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                              transaction_date, receipt_number, idempotency_key, created_by)
    VALUES (p_loan_id, 'repayment', p_amount, v_principal, v_interest, v_penalty, p_payment_date,
            v_branch || '-R-' || lpad(v_receipt::text, greatest(6, length(v_receipt::text)), '0'), p_idempotency_key,
            p_created_by)
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
           paid_date = CASE WHEN a.status_after = 'paid' THEN p_payment_date ELSE s.paid_date END,
           updated_at = now()
      FROM unnest(v_ids, v_pen, v_int, v_prin, v_status) AS a(schedule_id, penalty, interest, principal, status_after)
     WHERE s.id = a.schedule_id;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    IF v_changed <> coalesce(cardinality(v_ids), 0) THEN
        RAISE EXCEPTION 'Payment allocation for loan % changed % of % installments', v_loan.loan_number,
            v_changed, cardinality(v_ids) USING ERRCODE = 'P0108';
    END IF;

    -- An assignment, not PERFORM: evaluated as an expression, without a query of its own.
    v_entry := create_journal_entry(v_txn, v_loan.loan_number, p_created_by);

    -- Everything the loan owed is paid: no installment still owes (the allocation above paid each in full).
    IF p_amount = v_owed THEN
        UPDATE loans SET status = 'closed', closed_at = ledger_moment(p_payment_date) WHERE id = p_loan_id;
    END IF;
    RETURN v_txn.id;
END $$;

CREATE FUNCTION public.disburse_loan(p_loan_id bigint, p_disbursed_by bigint, p_disbursement_date date DEFAULT NULL::date, p_first_repayment_date date DEFAULT NULL::date) RETURNS bigint
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
    -- The fee is the one worked out when the application was made (loans.fee_amount), not today's product.
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, fee_amount, transaction_date,
                              created_by)
    VALUES (p_loan_id, 'disbursement', v_loan.principal_amount, v_loan.principal_amount, v_loan.fee_amount, v_date,
            p_disbursed_by)
    RETURNING id INTO v_txn;
    PERFORM create_journal_entry(v_txn, p_disbursed_by);
    PERFORM generate_payment_schedule(p_loan_id, p_disbursed_by);
    RETURN v_txn;
END $$;

REVOKE ALL ON FUNCTION record_loan_payment(bigint, numeric, date, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_loan_payment(bigint, numeric, date, bigint, text)
    TO astrofin_cashier, astrofin_supervisor, astrofin_definer;
REVOKE ALL ON FUNCTION disburse_loan(bigint, bigint, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION disburse_loan(bigint, bigint, date, date) TO astrofin_cashier, astrofin_supervisor;
ALTER FUNCTION disburse_loan(bigint, bigint, date, date) OWNER TO astrofin_definer;

ALTER TABLE transactions DROP CONSTRAINT transactions_till_only_cash,
    DROP CONSTRAINT transactions_payment_reference_check,
    DROP COLUMN till_session_id, DROP COLUMN payment_reference, DROP COLUMN payment_method;

DROP TABLE till_sessions;
DROP TABLE tills;
DROP FUNCTION till_sessions_take_branch();
