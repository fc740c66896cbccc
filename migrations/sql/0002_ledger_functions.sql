-- Ledger, part 2: schedule math, loan workflow, payments, journal, reversals and write-offs.
-- Every function refuses with RAISE EXCEPTION (a message a person can act on, SQLSTATE P0101…P0108)
-- before it writes anything, or rolls back what it wrote with the exception, so a refusal changes nothing.

------------------------------------------------------------------------------------------------------
-- Small internal helpers
------------------------------------------------------------------------------------------------------

-- An amount as staff read it: 1,234,567.89.
CREATE FUNCTION ledger_money(p_amount numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(p_amount, 'FM999,999,999,999,990.00')
$$;

CREATE FUNCTION ledger_periods_per_year(p_frequency text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE p_frequency
        WHEN 'weekly' THEN 52
        WHEN 'biweekly' THEN 26
        WHEN 'monthly' THEN 12
    END;
END $$;

-- Due date of installment k: counted from the first date every time, never chained. Adding k-1 months
-- to 31 January gives 28/29 February, then 31 March (PostgreSQL clamps to the month's last day).
CREATE FUNCTION ledger_due_date(p_first date, p_frequency text, p_k integer) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE p_frequency
        WHEN 'monthly' THEN (p_first + make_interval(months => p_k - 1))::date
        WHEN 'weekly' THEN p_first + 7 * (p_k - 1)
        WHEN 'biweekly' THEN p_first + 14 * (p_k - 1)
    END;
END $$;

-- The moment a back-dated event happened (closing, write-off): now for today, midday of a past day.
CREATE FUNCTION ledger_moment(p_date date) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_date >= current_date THEN now() ELSE (p_date + time '12:00')::timestamptz END
$$;

-- A money amount given to a function: present, positive, whole cents, within NUMERIC(14,2).
CREATE FUNCTION ledger_check_amount(p_amount numeric, p_what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_amount IS NULL THEN
        RAISE EXCEPTION 'The % amount is missing', p_what USING ERRCODE = 'P0107';
    END IF;
    IF p_amount = 'NaN'::numeric THEN
        RAISE EXCEPTION 'The % amount is not a number', p_what USING ERRCODE = 'P0103';
    END IF;
    IF p_amount <= 0 THEN
        RAISE EXCEPTION 'The % amount must be more than zero (got %)', p_what, p_amount USING ERRCODE = 'P0103';
    END IF;
    IF p_amount > 999999999999.99 THEN
        RAISE EXCEPTION 'The % amount % is too large (at most 999,999,999,999.99)', p_what, p_amount
            USING ERRCODE = 'P0103';
    END IF;
    IF p_amount <> round(p_amount, 2) THEN
        RAISE EXCEPTION 'The % amount % has more than two decimals', p_what, p_amount USING ERRCODE = 'P0103';
    END IF;
END $$;

-- The acting staff member: p_user_id must exist, be active, hold one of p_roles and, when the session
-- names a signed-in user (astrofin.user_id) or runs as a staff role, be that user in that role, so
-- nobody acts under another's name. Superuser connections (scripts, tests, seeding) set neither.
CREATE FUNCTION ledger_require_actor(p_user_id bigint, p_roles text[], p_action text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_raw     text := nullif(current_setting('astrofin.user_id', true), '');
    v_setting bigint := audit_current_user_id();
    v_db_role text := current_setting('role');
    v_user    users%ROWTYPE;
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'Cannot % without the acting user', p_action USING ERRCODE = 'P0107';
    END IF;
    IF v_raw IS NOT NULL AND v_setting IS NULL THEN
        RAISE EXCEPTION 'The signed-in user setting (%) is not a user id', v_raw USING ERRCODE = 'P0106';
    END IF;
    IF v_setting IS NOT NULL AND v_setting <> p_user_id THEN
        RAISE EXCEPTION 'You are signed in as user % and cannot % in the name of user %',
            v_setting, p_action, p_user_id USING ERRCODE = 'P0106';
    END IF;
    IF v_db_role LIKE 'astrofin\_%' AND v_setting IS NULL THEN
        RAISE EXCEPTION 'Cannot % without a signed-in user', p_action USING ERRCODE = 'P0106';
    END IF;
    SELECT * INTO v_user FROM users u WHERE u.id = p_user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'User % does not exist', p_user_id USING ERRCODE = 'P0101';
    END IF;
    IF NOT v_user.is_active THEN
        RAISE EXCEPTION 'User % is deactivated and cannot %', v_user.username, p_action USING ERRCODE = 'P0106';
    END IF;
    IF NOT (v_user.role = ANY (p_roles)) THEN
        RAISE EXCEPTION 'Only a % may %; % is a %', array_to_string(p_roles, ' or '), p_action,
            v_user.username, v_user.role USING ERRCODE = 'P0106';
    END IF;
    IF v_db_role LIKE 'astrofin\_%' AND v_db_role <> 'astrofin_' || v_user.role THEN
        RAISE EXCEPTION 'User % is a % but this session works as %', v_user.username, v_user.role, v_db_role
            USING ERRCODE = 'P0106';
    END IF;
END $$;

CREATE FUNCTION ledger_account_id(p_code text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT a.id INTO v_id FROM chart_of_accounts a WHERE a.account_code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Account % is missing from the chart of accounts', p_code USING ERRCODE = 'P0101';
    END IF;
    RETURN v_id;
END $$;

------------------------------------------------------------------------------------------------------
-- Schedule math: the one implementation behind preview_payment_schedule and generate_payment_schedule
------------------------------------------------------------------------------------------------------

CREATE FUNCTION ledger_schedule_rows(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                     p_frequency text, p_first_date date)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              total_due numeric, balance_after numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_ppy          integer;
    v_r            numeric;
    v_emi          numeric;
    v_balance      numeric := p_principal;
    v_interest_all numeric;
    v_interest_left numeric;
    v_principal_each numeric;
    v_interest_each numeric;
    v_p            numeric;
    v_i            numeric;
    k              integer;
BEGIN
    PERFORM ledger_check_amount(p_principal, 'principal');
    IF p_rate IS NULL OR p_rate < 0 OR p_rate > 1000 THEN
        RAISE EXCEPTION 'The interest rate must be a yearly percent from 0 to 1000 (got %)', coalesce(p_rate::text, 'none')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_method IS NULL OR p_method NOT IN ('declining_balance', 'flat') THEN
        RAISE EXCEPTION 'Unknown interest method %: use declining_balance or flat', coalesce(p_method, '(none)')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_term IS NULL OR p_term < 1 OR p_term > 520 THEN
        RAISE EXCEPTION 'The term must be from 1 to 520 installments (got %)', coalesce(p_term::text, 'none')
            USING ERRCODE = 'P0107';
    END IF;
    v_ppy := ledger_periods_per_year(p_frequency);
    IF v_ppy IS NULL THEN
        RAISE EXCEPTION 'Unknown repayment frequency %: use weekly, biweekly or monthly', coalesce(p_frequency, '(none)')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_first_date IS NULL THEN
        RAISE EXCEPTION 'The first repayment date is missing' USING ERRCODE = 'P0107';
    END IF;

    IF p_method = 'declining_balance' THEN
        IF p_rate = 0 THEN
            v_emi := round(p_principal / p_term, 2);
        ELSE
            v_r := p_rate::numeric(40, 30) / (100 * v_ppy);
            v_emi := round(p_principal * v_r / (1 - power(1 + v_r, -p_term)), 2);
        END IF;
        FOR k IN 1 .. p_term LOOP
            v_i := round(v_balance * p_rate / (100 * v_ppy), 2);
            IF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes what is still owed
            ELSE
                -- Never more than is owed (only reachable with a few cents over many installments).
                v_p := least(greatest(v_emi - v_i, 0), v_balance);
            END IF;
            v_balance := v_balance - v_p;
            installment_number := k;
            due_date := ledger_due_date(p_first_date, p_frequency, k);
            principal_due := v_p;
            interest_due := v_i;
            total_due := v_p + v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    ELSE
        v_interest_all := round(p_principal * p_rate * p_term / (100 * v_ppy), 2);
        v_interest_left := v_interest_all;
        v_principal_each := round(p_principal / p_term, 2);
        v_interest_each := round(v_interest_all / p_term, 2);
        FOR k IN 1 .. p_term LOOP
            IF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes the remainders
                v_i := v_interest_left;
            ELSE
                v_p := least(v_principal_each, v_balance);
                v_i := least(v_interest_each, v_interest_left);
            END IF;
            v_balance := v_balance - v_p;
            v_interest_left := v_interest_left - v_i;
            installment_number := k;
            due_date := ledger_due_date(p_first_date, p_frequency, k);
            principal_due := v_p;
            interest_due := v_i;
            total_due := v_p + v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

-- What the loan application screen shows while the officer types. No first date: today + one period.
CREATE FUNCTION preview_payment_schedule(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                         p_frequency text, p_first_date date)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              total_due numeric, balance_after numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT s.installment_number, s.due_date, s.principal_due, s.interest_due, s.total_due, s.balance_after
          FROM ledger_schedule_rows(p_principal, p_rate, p_method, p_term, p_frequency,
                                    coalesce(p_first_date, ledger_due_date(current_date, p_frequency, 2))) s;
END $$;

-- Writes a loan's schedule; replaces one that has no repayments, refuses a loan that has them.
CREATE FUNCTION generate_payment_schedule(p_loan_id bigint, p_created_by bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan  loans%ROWTYPE;
    v_first date;
    v_count integer;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_created_by, ARRAY['cashier', 'supervisor'], 'generate a payment schedule');
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status NOT IN ('approved', 'active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; a schedule is written only for an approved, active or defaulted loan',
            v_loan.loan_number, v_loan.status USING ERRCODE = 'P0102';
    END IF;
    IF EXISTS (SELECT 1 FROM transactions t
                WHERE t.loan_id = p_loan_id AND t.transaction_type = 'repayment'
                  AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = t.id)) THEN
        RAISE EXCEPTION 'Loan % has repayments; its schedule cannot be replaced', v_loan.loan_number
            USING ERRCODE = 'P0102';
    END IF;
    v_first := coalesce(v_loan.first_repayment_date,
                        ledger_due_date(coalesce(v_loan.disbursement_date, current_date), v_loan.repayment_frequency, 2));
    DELETE FROM payment_schedules s WHERE s.loan_id = p_loan_id;
    INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, interest_due, penalty_due,
                                   total_due)
    SELECT p_loan_id, r.installment_number, r.due_date, r.principal_due, r.interest_due, 0, r.total_due
      FROM ledger_schedule_rows(v_loan.principal_amount, v_loan.interest_rate, v_loan.interest_method, v_loan.term,
                                v_loan.repayment_frequency, v_first) r;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;

------------------------------------------------------------------------------------------------------
-- Journal
------------------------------------------------------------------------------------------------------

CREATE FUNCTION ledger_post_line(p_entry bigint, p_code text, p_debit numeric, p_credit numeric, p_description text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF coalesce(p_debit, 0) = 0 AND coalesce(p_credit, 0) = 0 THEN
        RETURN;                                          -- a zero part posts no line
    END IF;
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    VALUES (p_entry, ledger_account_id(p_code), coalesce(p_debit, 0), coalesce(p_credit, 0), p_description);
END $$;

-- Posts the entry of docs/database.md "Journal postings" for a transaction; a second call returns the entry
-- already posted.
CREATE FUNCTION create_journal_entry(p_transaction_id bigint, p_created_by bigint) RETURNS bigint
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

------------------------------------------------------------------------------------------------------
-- Loan workflow
------------------------------------------------------------------------------------------------------

CREATE FUNCTION approve_loan(p_loan_id bigint, p_approved_by bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan loans%ROWTYPE;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_approved_by, ARRAY['supervisor'], 'approve a loan');
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status <> 'pending' THEN
        RAISE EXCEPTION 'Loan % is %; only a pending application can be approved', v_loan.loan_number, v_loan.status
            USING ERRCODE = 'P0102';
    END IF;
    IF v_loan.created_by = p_approved_by THEN
        RAISE EXCEPTION 'You created loan application %; another supervisor must approve it', v_loan.loan_number
            USING ERRCODE = 'P0105';
    END IF;
    UPDATE loans SET status = 'approved', approved_by = p_approved_by, approved_at = now() WHERE id = p_loan_id;
END $$;

CREATE FUNCTION reject_loan(p_loan_id bigint, p_rejected_by bigint, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan loans%ROWTYPE;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_reason IS NULL OR length(btrim(p_reason)) = 0 THEN
        RAISE EXCEPTION 'Give the reason for rejecting the application' USING ERRCODE = 'P0107';
    END IF;
    IF length(p_reason) > 500 THEN
        RAISE EXCEPTION 'The reason is too long (at most 500 characters)' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_rejected_by, ARRAY['supervisor'], 'reject a loan');
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status <> 'pending' THEN
        RAISE EXCEPTION 'Loan % is %; only a pending application can be rejected', v_loan.loan_number, v_loan.status
            USING ERRCODE = 'P0102';
    END IF;
    IF v_loan.created_by = p_rejected_by THEN
        RAISE EXCEPTION 'You created loan application %; another supervisor must reject it', v_loan.loan_number
            USING ERRCODE = 'P0105';
    END IF;
    UPDATE loans
       SET status = 'rejected', rejected_by = p_rejected_by, rejected_at = now(), rejection_reason = btrim(p_reason)
     WHERE id = p_loan_id;
END $$;

-- Disbursement transaction, its journal entry and the schedule, and the loan active: all or nothing.
CREATE FUNCTION disburse_loan(p_loan_id bigint, p_disbursed_by bigint, p_disbursement_date date DEFAULT NULL,
                              p_first_repayment_date date DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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

------------------------------------------------------------------------------------------------------
-- Payments
------------------------------------------------------------------------------------------------------

-- Can this loan take this payment on this day? The same checks for the preview and the payment.
CREATE FUNCTION ledger_check_payable(p_loan loans, p_amount numeric, p_payment_date date) RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_owed numeric;
BEGIN
    IF p_loan.status NOT IN ('active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; payments are taken only on active or defaulted loans',
            p_loan.loan_number, p_loan.status USING ERRCODE = 'P0102';
    END IF;
    IF p_payment_date > current_date THEN
        RAISE EXCEPTION 'The payment date % is in the future', p_payment_date USING ERRCODE = 'P0104';
    END IF;
    IF p_payment_date < p_loan.disbursement_date THEN
        RAISE EXCEPTION 'The payment date % is before loan % was disbursed on %', p_payment_date,
            p_loan.loan_number, p_loan.disbursement_date USING ERRCODE = 'P0104';
    END IF;
    SELECT coalesce(sum(s.total_due - s.total_paid), 0) INTO v_owed
      FROM payment_schedules s WHERE s.loan_id = p_loan.id;
    IF p_amount > v_owed THEN
        RAISE EXCEPTION 'A payment of % is more than loan % owes: the outstanding amount is %',
            ledger_money(p_amount), p_loan.loan_number, ledger_money(v_owed) USING ERRCODE = 'P0103';
    END IF;
    RETURN v_owed;
END $$;

-- The allocation of a payment, writing nothing: oldest installment that still owes first, within it
-- penalty, then interest, then principal; the rest moves on to the next installment.
CREATE FUNCTION ledger_allocate(p_loan_id bigint, p_amount numeric)
RETURNS TABLE(schedule_id bigint, installment_number integer, due_date date, penalty numeric, interest numeric,
              principal numeric, status_after text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_left numeric := p_amount;
    r      record;
BEGIN
    FOR r IN
        SELECT s.id, s.installment_number AS n, s.due_date AS d, s.penalty_due - s.penalty_paid AS pen,
               s.interest_due - s.interest_paid AS intr, s.principal_due - s.principal_paid AS prin
          FROM payment_schedules s
         WHERE s.loan_id = p_loan_id AND s.total_paid < s.total_due
         ORDER BY s.due_date, s.installment_number
    LOOP
        EXIT WHEN v_left <= 0;
        penalty := least(v_left, r.pen);
        v_left := v_left - penalty;
        interest := least(v_left, r.intr);
        v_left := v_left - interest;
        principal := least(v_left, r.prin);
        v_left := v_left - principal;
        schedule_id := r.id;
        installment_number := r.n;
        due_date := r.d;
        status_after := CASE WHEN penalty + interest + principal = r.pen + r.intr + r.prin THEN 'paid' ELSE 'partial' END;
        RETURN NEXT;
    END LOOP;
    IF v_left > 0 THEN
        RAISE EXCEPTION 'A payment of % is more than the loan owes', ledger_money(p_amount) USING ERRCODE = 'P0103';
    END IF;
END $$;

-- How a payment would be split, for the confirmation screen: the allocation record_loan_payment uses.
CREATE FUNCTION preview_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date)
RETURNS TABLE(installment_number integer, due_date date, penalty numeric, interest numeric, principal numeric,
              status_after text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan loans%ROWTYPE;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_payment_date IS NULL THEN
        RAISE EXCEPTION 'The payment date is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_check_amount(p_amount, 'payment');
    IF audit_current_user_id() IS NOT NULL OR current_setting('role') LIKE 'astrofin\_%' THEN
        PERFORM ledger_require_actor(audit_current_user_id(), ARRAY['cashier', 'supervisor'], 'preview a payment');
    END IF;
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    PERFORM ledger_check_payable(v_loan, p_amount, p_payment_date);
    RETURN QUERY
        SELECT a.installment_number, a.due_date, a.penalty, a.interest, a.principal, a.status_after
          FROM ledger_allocate(p_loan_id, p_amount) a;
END $$;

-- The same idempotency key again: the first payment, if it is the same payment.
CREATE FUNCTION ledger_same_payment(p_existing transactions, p_loan_id bigint, p_amount numeric) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_existing.transaction_type <> 'repayment' OR p_existing.loan_id <> p_loan_id
       OR p_existing.amount <> p_amount THEN
        RAISE EXCEPTION 'Idempotency key % was already used for another payment (transaction %)',
            p_existing.idempotency_key, p_existing.id USING ERRCODE = 'P0107';
    END IF;
    RETURN p_existing.id;
END $$;

CREATE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint,
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
    v_receipt := 'R-' || lpad(nextval('receipt_number_seq')::text, 6, '0');
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

------------------------------------------------------------------------------------------------------
-- Reversals and write-offs
------------------------------------------------------------------------------------------------------

-- The schedule's paid amounts from the loan's remaining (unreversed) repayments, replayed in date order.
-- Each repayment's recorded split (penalty, interest, principal: what its journal entry posted) is laid
-- on the oldest installments that still owe that kind of money, so the schedule always agrees with the
-- books; with no reversal in between this is exactly the allocation the payments were recorded with.
CREATE FUNCTION ledger_recompute_schedule(p_loan_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t      record;
    s      record;
    v_pen  numeric;
    v_int  numeric;
    v_prin numeric;
    v_add_pen  numeric;
    v_add_int  numeric;
    v_add_prin numeric;
BEGIN
    UPDATE payment_schedules
       SET penalty_paid = 0, interest_paid = 0, principal_paid = 0, total_paid = 0, status = 'pending', paid_date = NULL
     WHERE loan_id = p_loan_id;
    FOR t IN
        SELECT x.transaction_date, x.penalty_amount, x.interest_amount, x.principal_amount
          FROM transactions x
         WHERE x.loan_id = p_loan_id AND x.transaction_type = 'repayment'
           AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_transaction_id = x.id)
         ORDER BY x.transaction_date, x.id
    LOOP
        v_pen := t.penalty_amount;
        v_int := t.interest_amount;
        v_prin := t.principal_amount;
        FOR s IN
            SELECT ps.id, ps.penalty_due - ps.penalty_paid AS pen, ps.interest_due - ps.interest_paid AS intr,
                   ps.principal_due - ps.principal_paid AS prin
              FROM payment_schedules ps
             WHERE ps.loan_id = p_loan_id AND ps.total_paid < ps.total_due
             ORDER BY ps.due_date, ps.installment_number
        LOOP
            EXIT WHEN v_pen + v_int + v_prin = 0;
            v_add_pen := least(v_pen, s.pen);
            v_add_int := least(v_int, s.intr);
            v_add_prin := least(v_prin, s.prin);
            CONTINUE WHEN v_add_pen + v_add_int + v_add_prin = 0;
            v_pen := v_pen - v_add_pen;
            v_int := v_int - v_add_int;
            v_prin := v_prin - v_add_prin;
            UPDATE payment_schedules ps
               SET penalty_paid = ps.penalty_paid + v_add_pen,
                   interest_paid = ps.interest_paid + v_add_int,
                   principal_paid = ps.principal_paid + v_add_prin,
                   total_paid = ps.total_paid + v_add_pen + v_add_int + v_add_prin,
                   status = CASE WHEN ps.total_paid + v_add_pen + v_add_int + v_add_prin = ps.total_due
                                 THEN 'paid' ELSE 'partial' END,
                   paid_date = CASE WHEN ps.total_paid + v_add_pen + v_add_int + v_add_prin = ps.total_due
                                    THEN t.transaction_date END
             WHERE ps.id = s.id;
        END LOOP;
        IF v_pen + v_int + v_prin <> 0 THEN
            RAISE EXCEPTION 'The schedule of loan % cannot take back its recorded payments', p_loan_id
                USING ERRCODE = 'P0108';
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION reverse_transaction(p_transaction_id bigint, p_reversed_by bigint, p_reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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

CREATE FUNCTION write_off_loan(p_loan_id bigint, p_written_off_by bigint, p_reason text, p_as_of date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan  loans%ROWTYPE;
    v_date  date := coalesce(p_as_of, current_date);
    v_owed  numeric;
    v_txn   bigint;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_reason IS NULL OR length(btrim(p_reason)) = 0 THEN
        RAISE EXCEPTION 'Give the reason for the write-off' USING ERRCODE = 'P0107';
    END IF;
    IF length(p_reason) > 500 THEN
        RAISE EXCEPTION 'The reason is too long (at most 500 characters)' USING ERRCODE = 'P0107';
    END IF;
    PERFORM ledger_require_actor(p_written_off_by, ARRAY['supervisor'], 'write off a loan');
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status NOT IN ('active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; only an active or defaulted loan can be written off', v_loan.loan_number,
            v_loan.status USING ERRCODE = 'P0102';
    END IF;
    IF v_date > current_date THEN
        RAISE EXCEPTION 'The write-off date % is in the future', v_date USING ERRCODE = 'P0104';
    END IF;
    IF v_date < v_loan.disbursement_date THEN
        RAISE EXCEPTION 'The write-off date % is before loan % was disbursed on %', v_date, v_loan.loan_number,
            v_loan.disbursement_date USING ERRCODE = 'P0104';
    END IF;
    SELECT coalesce(sum(s.principal_due - s.principal_paid), 0) INTO v_owed
      FROM payment_schedules s WHERE s.loan_id = p_loan_id;
    IF v_owed <= 0 THEN
        RAISE EXCEPTION 'Loan % owes no principal; there is nothing to write off', v_loan.loan_number
            USING ERRCODE = 'P0103';
    END IF;
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, transaction_date, notes, created_by)
    VALUES (p_loan_id, 'write_off', v_owed, v_owed, v_date, btrim(p_reason), p_written_off_by)
    RETURNING id INTO v_txn;
    PERFORM create_journal_entry(v_txn, p_written_off_by);
    UPDATE loans
       SET status = 'written_off', written_off_at = ledger_moment(v_date), written_off_by = p_written_off_by,
           write_off_reason = btrim(p_reason)
     WHERE id = p_loan_id;
    RETURN v_txn;
END $$;
