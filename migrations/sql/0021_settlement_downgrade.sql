-- Back to 0019: no settlement, no recovery. Recoveries already taken are posted and cannot be undone here.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM transactions WHERE transaction_type = 'recovery') THEN
        RAISE EXCEPTION 'Recoveries were taken on written-off loans; revision 0019 has no recovery transactions to hold them'
            USING ERRCODE = 'P0108';
    END IF;
END $$;

REVOKE SELECT ON loan_products FROM astrofin_definer;
DROP FUNCTION settle_loan(bigint, numeric, date, bigint, text, text, text);
DROP FUNCTION payoff_quote(bigint, date);
DROP FUNCTION ledger_take_recovery(loans, numeric, date, bigint, text, text, text);
DROP FUNCTION ledger_payoff_refusal(text, text, date, date);
DROP FUNCTION ledger_payoff_rule(bigint);
DROP FUNCTION ledger_payoff_loan(bigint, boolean);
DROP FUNCTION ledger_payoff_rows(bigint, date, text, date);

ALTER TABLE transactions DROP CONSTRAINT transactions_till_only_cash;
ALTER TABLE transactions ADD CONSTRAINT transactions_till_only_cash
    CHECK (till_session_id IS NULL
           OR (payment_method = 'cash' AND transaction_type IN ('repayment', 'disbursement', 'reversal')));
ALTER TABLE transactions DROP CONSTRAINT transactions_transaction_type_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_transaction_type_check
    CHECK (transaction_type IN ('disbursement', 'repayment', 'reversal', 'write_off', 'penalty'));

CREATE OR REPLACE FUNCTION public.record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint, p_idempotency_key text DEFAULT NULL::text, p_payment_method text DEFAULT 'cash'::text, p_payment_reference text DEFAULT NULL::text) RETURNS bigint
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
    v_reference text;
    v_session   bigint;
    v_required  boolean;
    v_home      text;
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
    -- till_check_method(p_payment_method, p_payment_reference), in line for cash.
    IF p_payment_method IS DISTINCT FROM 'cash' OR p_payment_reference IS NOT NULL THEN
        v_reference := till_check_method(p_payment_method, p_payment_reference);
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

    -- Cash goes into the recorder's open till. The lock is held until commit: a close waits for it, or this
    -- payment waits for the close and then finds the session no longer open.
    IF p_payment_method = 'cash' THEN
        SELECT s.id INTO v_session FROM till_sessions s WHERE s.cashier_id = p_created_by AND s.status = 'open'
           FOR KEY SHARE;
        IF v_session IS NULL THEN
            SELECT b.tills_required, b.code INTO v_required, v_home
              FROM users u JOIN branches b ON b.id = u.branch_id WHERE u.id = p_created_by;
            IF v_required THEN
                RAISE EXCEPTION 'Open your till first: cash in % is taken into an open till (press o on the home screen)',
                    v_home USING ERRCODE = 'P0110';
            END IF;
        END IF;
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
                              transaction_date, receipt_number, idempotency_key, created_by, payment_method,
                              payment_reference, till_session_id)
    VALUES (p_loan_id, 'repayment', p_amount, v_principal, v_interest, v_penalty, p_payment_date,
            v_branch || '-R-' || lpad(v_receipt::text, greatest(6, length(v_receipt::text)), '0'), p_idempotency_key,
            p_created_by, p_payment_method, v_reference, v_session)
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

CREATE OR REPLACE FUNCTION public.create_journal_entry(p_txn public.transactions, p_loan_number text, p_created_by bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_entry  bigint;
    v_number bigint;
    v_money  text := CASE p_txn.payment_method WHEN 'mobile_money' THEN '1150' WHEN 'bank' THEN '1100'
                          ELSE '1000' END;
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
    -- ledger_account_id's error. A disbursement's processing fee stays in the till: the money paid out is
    -- the principal less the fee, and the fee is income (4100). Cash is 1000, M-Pesa 1150, bank 1100.
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    SELECT v_entry, coalesce(a.id, ledger_account_id(l.code)), coalesce(l.debit, 0), coalesce(l.credit, 0),
           l.description
      FROM (VALUES
            (1, CASE p_txn.transaction_type WHEN 'disbursement' THEN '1200' WHEN 'repayment' THEN v_money
                                            ELSE '5000' END,
                p_txn.amount, 0::numeric,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN 'Principal disbursed'
                                            WHEN 'repayment' THEN
                                                CASE p_txn.payment_method WHEN 'mobile_money' THEN 'M-Pesa received'
                                                                          WHEN 'bank' THEN 'Bank payment received'
                                                                          ELSE 'Cash received' END
                                            ELSE 'Principal written off' END),
            (2, CASE p_txn.transaction_type WHEN 'disbursement' THEN v_money ELSE '1200' END,
                0::numeric,
                CASE p_txn.transaction_type WHEN 'repayment' THEN p_txn.principal_amount
                                            WHEN 'disbursement' THEN p_txn.amount - coalesce(p_txn.fee_amount, 0)
                                            ELSE p_txn.amount END,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN
                                                CASE p_txn.payment_method WHEN 'mobile_money' THEN 'Paid out by M-Pesa'
                                                                          WHEN 'bank' THEN 'Paid out by bank'
                                                                          ELSE 'Cash paid out' END
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
    v_session  bigint;
    v_required boolean;
    v_home     text;
    v_till     text;
    v_branch   text;
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

    IF v_txn.payment_method = 'cash' THEN
        IF v_txn.till_session_id IS NOT NULL THEN
            SELECT open_now.id INTO v_session
              FROM till_sessions taken JOIN till_sessions open_now
                ON open_now.till_id = taken.till_id AND open_now.status = 'open'
             WHERE taken.id = v_txn.till_session_id
               FOR NO KEY UPDATE OF open_now;
        END IF;
        IF v_session IS NULL THEN
            SELECT s.id INTO v_session FROM till_sessions s WHERE s.cashier_id = p_reversed_by AND s.status = 'open'
               FOR NO KEY UPDATE;
        END IF;
        IF v_session IS NOT NULL THEN
            PERFORM till_refuse_overdraw(v_session, v_txn.amount);
        END IF;
        IF v_session IS NULL THEN
            SELECT b.tills_required, b.code INTO v_required, v_home
              FROM users u JOIN branches b ON b.id = u.branch_id WHERE u.id = p_reversed_by;
            IF v_txn.till_session_id IS NOT NULL THEN
                SELECT t.code, b.code INTO v_till, v_branch
                  FROM till_sessions s JOIN tills t ON t.id = s.till_id JOIN branches b ON b.id = t.branch_id
                 WHERE s.id = v_txn.till_session_id;
                RAISE EXCEPTION 'Till % of % is not open: the cash goes back out of a till; open it first', v_till,
                    v_branch USING ERRCODE = 'P0110';
            END IF;
            IF v_required THEN
                RAISE EXCEPTION 'Open your till first: the cash of a reversal in % goes back out of an open till',
                    v_home USING ERRCODE = 'P0110';
            END IF;
        END IF;
    END IF;

    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                              transaction_date, reverses_transaction_id, notes, created_by, payment_method,
                              payment_reference, till_session_id)
    VALUES (v_txn.loan_id, 'reversal', v_txn.amount, v_txn.principal_amount, v_txn.interest_amount,
            v_txn.penalty_amount, current_date, v_txn.id, btrim(p_reason), p_reversed_by, v_txn.payment_method,
            v_txn.payment_reference, v_session)
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

CREATE OR REPLACE FUNCTION public.till_session_cash(p_session_id bigint) RETURNS TABLE(cash_in numeric, cash_out numeric, receipts integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT coalesce(sum(t.amount) FILTER (WHERE t.transaction_type = 'repayment'), 0)::numeric(14,2),
           coalesce(sum(CASE t.transaction_type WHEN 'disbursement' THEN t.amount - t.fee_amount
                                                WHEN 'reversal' THEN t.amount END), 0)::numeric(14,2),
           (count(*) FILTER (WHERE t.transaction_type = 'repayment'))::integer
      FROM till_sessions s LEFT JOIN transactions t ON t.till_session_id = s.id
     WHERE s.id = p_session_id AND s.branch_id = ANY (astrofin_branch_scope())
     GROUP BY s.id
$$;

CREATE OR REPLACE FUNCTION public.ledger_same_payment(p_existing public.transactions, p_loan_id bigint, p_amount numeric) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_existing.transaction_type <> 'repayment' OR p_existing.loan_id <> p_loan_id
       OR p_existing.amount <> p_amount THEN
        RAISE EXCEPTION 'Idempotency key % was already used for another payment (transaction %)',
            p_existing.idempotency_key, p_existing.id USING ERRCODE = 'P0107';
    END IF;
    RETURN p_existing.id;
END $$;
