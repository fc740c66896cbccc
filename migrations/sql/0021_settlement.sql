-- Early settlement and recoveries. A loan is paid off before its term with the payoff quote of the day: everything
-- due, all principal still owed and the interest its product's early_settlement_interest keeps (current_period,
-- all_remaining, none); settle_loan takes exactly that, waives the rest of the interest on the schedule and records
-- one ordinary repayment, which closes the loan. A payment on a written-off loan is a recovery: a transaction of its
-- own type, Dr the method's account (1000 cash through the till, 1150 M-Pesa, 1100 bank) / Cr 4300 Bad Debt
-- Recovered, never more than was written off, the schedule left as it was; it is reversed like a repayment.

-- 1. A transaction of type 'recovery'; cash recoveries go into the till like cash repayments.
ALTER TABLE transactions DROP CONSTRAINT transactions_transaction_type_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_transaction_type_check
    CHECK (transaction_type IN ('disbursement', 'repayment', 'reversal', 'write_off', 'penalty', 'recovery'));
ALTER TABLE transactions DROP CONSTRAINT transactions_till_only_cash;
ALTER TABLE transactions ADD CONSTRAINT transactions_till_only_cash
    CHECK (till_session_id IS NULL
           OR (payment_method = 'cash' AND transaction_type IN ('repayment', 'disbursement', 'reversal', 'recovery')));

-- 2. The payoff of one loan on one day, installment by installment: the one place the product's rule is applied.
--    An installment due on or before the day owes all its unpaid interest; of the later ones, all_remaining keeps
--    all their interest, current_period only the interest of the installment whose period (the day after the
--    previous due date, or after the disbursement, through its own due date) contains the day, none nothing.
--    `interest` is what the payoff keeps, `interest_unpaid` what the installment still owes. No SET clause, so the
--    planner inlines it into its callers' queries; it runs only inside payoff_quote and settle_loan, whose
--    search_path is fixed.
CREATE FUNCTION ledger_payoff_rows(p_loan_id bigint, p_disbursed date, p_rule text, p_as_of date)
    RETURNS TABLE(schedule_id bigint, principal numeric, interest numeric, penalty numeric, interest_unpaid numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT r.id, r.prin,
           CASE WHEN r.due_date <= p_as_of OR p_rule = 'all_remaining'
                     OR (p_rule = 'current_period' AND r.period_start < p_as_of) THEN r.intr ELSE 0 END,
           r.pen, r.intr
      FROM (SELECT s.id, s.due_date, s.principal_due - s.principal_paid AS prin,
                   s.interest_due - s.interest_paid AS intr, s.penalty_due - s.penalty_paid AS pen,
                   coalesce(lag(s.due_date) OVER (ORDER BY s.due_date, s.installment_number), p_disbursed)
                       AS period_start
              FROM payment_schedules s
             WHERE s.loan_id = p_loan_id) r
$$;

-- 3. The loan a payoff is asked of (locked when it is to be settled) and its product's rule (a loan without a product:
--    current_period); refused for another state or a day before the disbursement.
CREATE FUNCTION ledger_payoff_loan(p_loan_id bigint, p_lock boolean) RETURNS loans
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_loan loans;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_lock THEN
        SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    ELSE
        SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    RETURN v_loan;
END $$;

CREATE FUNCTION ledger_payoff_rule(p_product_id bigint) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT coalesce((SELECT p.early_settlement_interest FROM loan_products p WHERE p.id = p_product_id),
                    'current_period')
$$;

CREATE FUNCTION ledger_payoff_refusal(p_status text, p_loan_number text, p_disbursed date, p_as_of date)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_status NOT IN ('active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; only an active or defaulted loan can be paid off', p_loan_number, p_status
            USING ERRCODE = 'P0102';
    END IF;
    IF p_as_of < p_disbursed THEN
        RAISE EXCEPTION 'The day % is before loan % was disbursed on %', to_char(p_as_of, 'YYYY-MM-DD'),
            p_loan_number, to_char(p_disbursed, 'YYYY-MM-DD') USING ERRCODE = 'P0104', COLUMN = 'payment_date';
    END IF;
END $$;

-- 4. payoff_quote: what closes the loan that day (everyone who sees the loan; within the caller's branches).
CREATE FUNCTION payoff_quote(p_loan_id bigint, p_as_of date DEFAULT NULL)
    RETURNS TABLE(principal numeric, interest numeric, penalty numeric, total numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_day       date := coalesce(p_as_of, current_date);
    v_status    text;
    v_number    text;
    v_disbursed date;
    v_rule      text;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    -- One read of the loan with its rule (ledger_payoff_loan and ledger_payoff_rule, in line: a quote is asked for
    -- on every loan screen and at every payment).
    SELECT l.status, l.loan_number, l.disbursement_date, coalesce(p.early_settlement_interest, 'current_period')
      INTO v_status, v_number, v_disbursed, v_rule
      FROM loans l LEFT JOIN loan_products p ON p.id = l.product_id
     WHERE l.id = p_loan_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    PERFORM ledger_payoff_refusal(v_status, v_number, v_disbursed, v_day);
    RETURN QUERY
        SELECT coalesce(sum(r.principal), 0)::numeric(14,2), coalesce(sum(r.interest), 0)::numeric(14,2),
               coalesce(sum(r.penalty), 0)::numeric(14,2),
               coalesce(sum(r.principal + r.interest + r.penalty), 0)::numeric(14,2)
          FROM ledger_payoff_rows(p_loan_id, v_disbursed, v_rule, v_day) r;
END $$;

-- 5. settle_loan: exactly the quote of the day closes the loan. The interest the quote leaves out is waived on the
--    schedule (interest_due comes down to what was paid plus what the quote keeps; principal stays as it was), then
--    the amount is recorded by record_loan_payment: one allocation, one receipt, one posting. The key makes a retry
--    return the first settlement.
CREATE FUNCTION settle_loan(p_loan_id bigint, p_amount numeric, p_date date, p_user bigint,
                            p_idempotency_key text DEFAULT NULL, p_payment_method text DEFAULT 'cash',
                            p_payment_reference text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_loan     loans;
    v_rule     text;
    v_existing transactions%ROWTYPE;
    v_quote    numeric;
    v_txn      bigint;
    v_status   text;
BEGIN
    IF p_date IS NULL THEN
        RAISE EXCEPTION 'The settlement date is missing' USING ERRCODE = 'P0107', COLUMN = 'payment_date';
    END IF;
    PERFORM ledger_check_amount(p_amount, 'settlement');
    IF p_idempotency_key IS NOT NULL AND (length(btrim(p_idempotency_key)) = 0 OR length(p_idempotency_key) > 200) THEN
        RAISE EXCEPTION 'The idempotency key must be 1 to 200 characters' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_user, ARRAY['cashier', 'supervisor'], 'settle a loan');
    v_loan := ledger_payoff_loan(p_loan_id, true);
    v_rule := ledger_payoff_rule(v_loan.product_id);
    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN ledger_same_payment(v_existing, p_loan_id, p_amount);
        END IF;
    END IF;
    PERFORM ledger_payoff_refusal(v_loan.status, v_loan.loan_number, v_loan.disbursement_date, p_date);
    IF p_date > current_date THEN
        RAISE EXCEPTION 'The settlement date % is in the future', to_char(p_date, 'YYYY-MM-DD')
            USING ERRCODE = 'P0104', COLUMN = 'payment_date';
    END IF;
    SELECT coalesce(sum(r.principal + r.interest + r.penalty), 0) INTO v_quote
      FROM ledger_payoff_rows(v_loan.id, v_loan.disbursement_date, v_rule, p_date) r;
    IF p_amount <> v_quote THEN
        RAISE EXCEPTION 'The payoff quote for loan % on % is %; a settlement takes exactly that amount, not %',
            v_loan.loan_number, to_char(p_date, 'YYYY-MM-DD'), ledger_money(v_quote), ledger_money(p_amount)
            USING ERRCODE = 'P0103', COLUMN = 'amount';
    END IF;

    UPDATE payment_schedules s
       SET interest_due = s.interest_paid + r.interest,
           total_due = s.principal_due + s.interest_paid + r.interest + s.penalty_due,
           status = CASE WHEN s.total_paid = s.principal_due + s.interest_paid + r.interest + s.penalty_due
                         THEN 'paid' ELSE s.status END,
           paid_date = CASE WHEN s.total_paid = s.principal_due + s.interest_paid + r.interest + s.penalty_due
                            THEN coalesce(s.paid_date, p_date) ELSE s.paid_date END,
           updated_at = now()
      FROM ledger_payoff_rows(v_loan.id, v_loan.disbursement_date, v_rule, p_date) r
     WHERE s.id = r.schedule_id AND r.interest <> r.interest_unpaid;

    v_txn := record_loan_payment(p_loan_id, p_amount, p_date, p_user, p_idempotency_key, p_payment_method,
                                 p_payment_reference);
    SELECT l.status INTO v_status FROM loans l WHERE l.id = p_loan_id;
    IF v_status <> 'closed' THEN
        RAISE EXCEPTION 'Settling loan % left it %', v_loan.loan_number, v_status USING ERRCODE = 'P0108';
    END IF;
    RETURN v_txn;
END $$;

-- 6. A recovery on a written-off loan, taken by record_loan_payment once it has checked the amount, the key and the
--    caller and locked the loan (so it runs as that function does, as the owner, on the caller's own loan).
CREATE FUNCTION ledger_take_recovery(p_loan loans, p_amount numeric, p_date date, p_user bigint, p_key text,
                                     p_method text, p_reference text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_written   numeric;
    v_recovered numeric;
    v_session   bigint;
    v_required  boolean;
    v_home      text;
    v_branch    text;
    v_receipt   bigint;
    v_txn       transactions%ROWTYPE;
    v_existing  transactions%ROWTYPE;
BEGIN
    IF p_date > current_date THEN
        RAISE EXCEPTION 'The payment date % is in the future', p_date USING ERRCODE = 'P0104';
    END IF;
    IF p_date < p_loan.written_off_at::date THEN
        RAISE EXCEPTION 'The payment date % is before loan % was written off on %', p_date, p_loan.loan_number,
            p_loan.written_off_at::date USING ERRCODE = 'P0104';
    END IF;
    SELECT coalesce(sum(t.amount) FILTER (WHERE t.transaction_type = 'write_off'), 0),
           coalesce(sum(t.amount) FILTER (WHERE t.transaction_type = 'recovery'
                                            AND NOT EXISTS (SELECT 1 FROM transactions r
                                                             WHERE r.reverses_transaction_id = t.id)), 0)
      INTO v_written, v_recovered
      FROM transactions t WHERE t.loan_id = p_loan.id AND t.transaction_type IN ('write_off', 'recovery');
    IF p_amount > v_written - v_recovered THEN
        RAISE EXCEPTION 'A recovery of % is more than is left of loan %''s write-off: % written off, % recovered, at most % more',
            ledger_money(p_amount), p_loan.loan_number, ledger_money(v_written), ledger_money(v_recovered),
            ledger_money(v_written - v_recovered) USING ERRCODE = 'P0103';
    END IF;

    -- Cash in the drawer: into the recorder's open till, as a repayment's cash.
    IF p_method = 'cash' THEN
        SELECT s.id INTO v_session FROM till_sessions s WHERE s.cashier_id = p_user AND s.status = 'open'
           FOR KEY SHARE;
        IF v_session IS NULL THEN
            SELECT b.tills_required, b.code INTO v_required, v_home
              FROM users u JOIN branches b ON b.id = u.branch_id WHERE u.id = p_user;
            IF v_required THEN
                RAISE EXCEPTION 'Open your till first: cash in % is taken into an open till (press o on the home screen)',
                    v_home USING ERRCODE = 'P0110';
            END IF;
        END IF;
    END IF;

    SELECT b.code, nextval(b.receipt_sequence) INTO v_branch, v_receipt FROM branches b WHERE b.id = p_loan.branch_id;
    INSERT INTO transactions (loan_id, transaction_type, amount, transaction_date, receipt_number, idempotency_key,
                              notes, created_by, payment_method, payment_reference, till_session_id)
    VALUES (p_loan.id, 'recovery', p_amount, p_date,
            v_branch || '-R-' || lpad(v_receipt::text, greatest(6, length(v_receipt::text)), '0'), p_key,
            'Recovery on written-off loan', p_user, p_method, p_reference, v_session)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v_txn;
    IF NOT FOUND THEN
        SELECT * INTO v_existing FROM transactions t WHERE t.idempotency_key = p_key;
        RETURN ledger_same_payment(v_existing, p_loan.id, p_amount);
    END IF;
    PERFORM create_journal_entry(v_txn, p_loan.loan_number, p_user);
    RETURN v_txn.id;
END $$;

-- 7. The payment, its posting, its reversal and a till's cash learn the recovery.
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

    -- A payment on a written-off loan is a recovery (0021): Dr the method's account / Cr 4300, the schedule as it was.
    IF v_loan.status = 'written_off' THEN
        RETURN ledger_take_recovery(v_loan, p_amount, p_payment_date, p_created_by, p_idempotency_key,
                                    p_payment_method, v_reference);
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
    IF p_txn.transaction_type NOT IN ('disbursement', 'repayment', 'write_off', 'recovery') THEN
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
                WHEN 'recovery' THEN 'Recovery' || coalesce(' ' || p_txn.receipt_number, '') || ' on written-off loan '
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
                                            WHEN 'recovery' THEN v_money ELSE '5000' END,
                p_txn.amount, 0::numeric,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN 'Principal disbursed'
                                            WHEN 'repayment' THEN
                                                CASE p_txn.payment_method WHEN 'mobile_money' THEN 'M-Pesa received'
                                                                          WHEN 'bank' THEN 'Bank payment received'
                                                                          ELSE 'Cash received' END
                                            WHEN 'recovery' THEN
                                                CASE p_txn.payment_method WHEN 'mobile_money' THEN 'M-Pesa received'
                                                                          WHEN 'bank' THEN 'Bank payment received'
                                                                          ELSE 'Cash received' END
                                            ELSE 'Principal written off' END),
            (2, CASE p_txn.transaction_type WHEN 'disbursement' THEN v_money WHEN 'recovery' THEN '4300'
                                            ELSE '1200' END,
                0::numeric,
                CASE p_txn.transaction_type WHEN 'repayment' THEN p_txn.principal_amount
                                            WHEN 'recovery' THEN p_txn.amount
                                            WHEN 'disbursement' THEN p_txn.amount - coalesce(p_txn.fee_amount, 0)
                                            ELSE p_txn.amount END,
                CASE p_txn.transaction_type WHEN 'disbursement' THEN
                                                CASE p_txn.payment_method WHEN 'mobile_money' THEN 'Paid out by M-Pesa'
                                                                          WHEN 'bank' THEN 'Paid out by bank'
                                                                          ELSE 'Cash paid out' END
                                            WHEN 'repayment' THEN 'Principal repaid'
                                            WHEN 'recovery' THEN 'Bad debt recovered' ELSE 'Principal written off' END),
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
    IF v_txn.transaction_type NOT IN ('repayment', 'recovery') THEN
        RAISE EXCEPTION 'Only repayments and recoveries can be reversed; transaction % is a %', v_txn.id,
            v_txn.transaction_type USING ERRCODE = 'P0102';
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
    IF v_txn.transaction_type = 'recovery' AND v_loan.status <> 'written_off' THEN
        RAISE EXCEPTION 'Loan % is %; its recoveries can no longer be reversed', v_loan.loan_number, v_loan.status
            USING ERRCODE = 'P0102';
    END IF;
    IF v_txn.transaction_type = 'repayment' AND v_loan.status NOT IN ('active', 'defaulted', 'closed') THEN
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
    -- A recovery never touched the schedule of its written-off loan: only the entry is mirrored.
    IF v_txn.transaction_type = 'recovery' THEN
        RETURN v_reversal;
    END IF;
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
    SELECT coalesce(sum(t.amount) FILTER (WHERE t.transaction_type IN ('repayment', 'recovery')), 0)::numeric(14,2),
           coalesce(sum(CASE t.transaction_type WHEN 'disbursement' THEN t.amount - t.fee_amount
                                                WHEN 'reversal' THEN t.amount END), 0)::numeric(14,2),
           (count(*) FILTER (WHERE t.transaction_type IN ('repayment', 'recovery')))::integer
      FROM till_sessions s LEFT JOIN transactions t ON t.till_session_id = s.id
     WHERE s.id = p_session_id AND s.branch_id = ANY (astrofin_branch_scope())
     GROUP BY s.id
$$;

CREATE OR REPLACE FUNCTION public.ledger_same_payment(p_existing public.transactions, p_loan_id bigint, p_amount numeric) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_existing.transaction_type NOT IN ('repayment', 'recovery') OR p_existing.loan_id <> p_loan_id
       OR p_existing.amount <> p_amount THEN
        RAISE EXCEPTION 'Idempotency key % was already used for another payment (transaction %)',
            p_existing.idempotency_key, p_existing.id USING ERRCODE = 'P0107';
    END IF;
    RETURN p_existing.id;
END $$;


-- 8. Who may call what. The quote is for everyone who sees the loan; settling is the counter's, as a payment is.
--    The helpers run only inside them.
REVOKE ALL ON FUNCTION ledger_payoff_rows(bigint, date, text, date), ledger_payoff_loan(bigint, boolean),
    ledger_payoff_rule(bigint), ledger_payoff_refusal(text, text, date, date),
    ledger_take_recovery(loans, numeric, date, bigint, text, text, text), payoff_quote(bigint, date),
    settle_loan(bigint, numeric, date, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_payoff_rows(bigint, date, text, date), ledger_payoff_loan(bigint, boolean),
    ledger_payoff_rule(bigint), ledger_payoff_refusal(text, text, date, date) TO astrofin_definer;
GRANT EXECUTE ON FUNCTION payoff_quote(bigint, date)
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin,
       astrofin_definer;
GRANT EXECUTE ON FUNCTION settle_loan(bigint, numeric, date, bigint, text, text, text)
    TO astrofin_cashier, astrofin_supervisor, astrofin_definer;
-- The catalogue is everyone's to read; the quote reads a loan's rule from it.
GRANT SELECT ON loan_products TO astrofin_definer;
ALTER FUNCTION payoff_quote(bigint, date) OWNER TO astrofin_definer;
ALTER FUNCTION settle_loan(bigint, numeric, date, bigint, text, text, text) OWNER TO astrofin_definer;
