-- Back to 0013: one office again. The rows made in other branches stay (they are the books); every row loses its
-- branch, receipts are numbered from the one sequence again, and the roles (server-wide) stay.

DO $$
DECLARE
    v_fn regprocedure;
BEGIN
    FOR v_fn IN SELECT p.oid::regprocedure FROM pg_proc p
                 WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = 'astrofin_definer'::regrole
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', v_fn, current_user);
    END LOOP;
END $$;

DROP FUNCTION transfer_customer(bigint, bigint, text, bigint);
DROP TABLE customer_transfers;
DROP FUNCTION close_branch_period(bigint, date, bigint);
DROP FUNCTION assign_user_branch(bigint, bigint, bigint);
DROP FUNCTION set_branch_active(bigint, boolean, bigint);
DROP FUNCTION rename_branch(bigint, text, bigint);
DROP FUNCTION create_branch(text, text, bigint, bigint);
DROP FUNCTION branch_code_taken(text);
DROP FUNCTION branch_check_name(text);
DROP FUNCTION branch_visible(bigint, text);
DROP FUNCTION calculate_par(integer, date, bigint, boolean);
DROP FUNCTION monthly_financial_summary(bigint, boolean);
DROP MATERIALIZED VIEW mvw_branch_monthly_summary;
GRANT SELECT ON mvw_monthly_financial_summary TO astrofin_loan_officer, astrofin_supervisor, astrofin_accountant;

ALTER VIEW vw_loan_summary RESET (security_invoker);
ALTER VIEW vw_overdue_loans RESET (security_invoker);
ALTER VIEW vw_daily_transactions RESET (security_invoker);

DROP POLICY branches_scope_update ON branches;
DROP POLICY branches_scope_insert ON branches;
DROP POLICY branches_scope_read ON branches;
ALTER TABLE branches DISABLE ROW LEVEL SECURITY;
DROP POLICY audit_logs_scope ON audit_logs;
DROP POLICY sms_histories_scope ON sms_histories;
DROP POLICY journal_entry_details_scope ON journal_entry_details;
DROP POLICY journal_entries_scope ON journal_entries;
DROP POLICY transactions_scope ON transactions;
DROP POLICY payment_schedules_scope ON payment_schedules;
DROP POLICY loans_scope ON loans;
DROP POLICY customers_scope ON customers;
DROP POLICY users_sign_in_update ON users;
DROP POLICY users_sign_in ON users;
DROP POLICY users_scope_update ON users;
DROP POLICY users_scope_insert ON users;
DROP POLICY users_scope_read ON users;
ALTER TABLE audit_logs DISABLE ROW LEVEL SECURITY;
ALTER TABLE sms_histories DISABLE ROW LEVEL SECURITY;
ALTER TABLE journal_entry_details DISABLE ROW LEVEL SECURITY;
ALTER TABLE journal_entries DISABLE ROW LEVEL SECURITY;
ALTER TABLE transactions DISABLE ROW LEVEL SECURITY;
ALTER TABLE payment_schedules DISABLE ROW LEVEL SECURITY;
ALTER TABLE loans DISABLE ROW LEVEL SECURITY;
ALTER TABLE customers DISABLE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;

DROP TRIGGER transactions_immutable_update ON transactions;
DROP TRIGGER transactions_immutable ON transactions;
CREATE TRIGGER transactions_immutable BEFORE DELETE OR UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER journal_entries_take_branch ON journal_entries;
DROP TRIGGER transactions_take_branch ON transactions;
DROP TRIGGER payment_schedules_take_branch ON payment_schedules;
DROP TRIGGER loans_take_branch ON loans;
DROP FUNCTION journal_entries_take_branch();
DROP FUNCTION transactions_take_branch();
DROP FUNCTION payment_schedules_take_branch();
DROP FUNCTION loans_take_branch();
DROP FUNCTION branch_refuse_closed(bigint, date);

CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        v_new := to_jsonb(NEW);
    END IF;
    -- A password hash never reaches the log; a changed one is recorded as changed.
    IF TG_TABLE_NAME = 'users' THEN
        IF v_new IS NOT NULL AND v_old IS NOT NULL AND v_new->>'password_hash' IS DISTINCT FROM v_old->>'password_hash' THEN
            v_new := v_new || '{"password_hash": "(changed)"}'::jsonb;
            v_old := v_old || '{"password_hash": "(redacted)"}'::jsonb;
        ELSE
            IF v_new IS NOT NULL THEN v_new := v_new || '{"password_hash": "(redacted)"}'::jsonb; END IF;
            IF v_old IS NOT NULL THEN v_old := v_old || '{"password_hash": "(redacted)"}'::jsonb; END IF;
        END IF;
    END IF;
    INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
    VALUES (TG_TABLE_NAME, COALESCE(v_new->>'id', v_old->>'id')::bigint, TG_OP, v_old, v_new,
            audit_current_user_id(), session_user || '/' || current_user);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_statement_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_user bigint := audit_current_user_id();
    v_role text := session_user || '/' || current_user;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, n.id, TG_OP, NULL, to_jsonb(n), v_user, v_role
          FROM audit_new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, o.id, TG_OP, to_jsonb(o), NULL, v_user, v_role
          FROM audit_old_rows o;
    ELSE
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, coalesce(n.id, o.id), TG_OP, to_jsonb(o), to_jsonb(n), v_user, v_role
          FROM audit_old_rows o FULL JOIN audit_new_rows n ON n.id = o.id
         ORDER BY coalesce(n.id, o.id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION refresh_monthly_financial_summary() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mvw_monthly_financial_summary;
END $$;

CREATE OR REPLACE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint, p_idempotency_key text DEFAULT NULL::text) RETURNS bigint
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

    -- Receipt numbers come from a sequence: a rolled-back transaction leaves a gap, nothing else does.
    v_receipt := nextval('receipt_number_seq');
    INSERT INTO transactions (loan_id, transaction_type, amount, principal_amount, interest_amount, penalty_amount,
                              transaction_date, receipt_number, idempotency_key, created_by)
    VALUES (p_loan_id, 'repayment', p_amount, v_principal, v_interest, v_penalty, p_payment_date,
            'R-' || lpad(v_receipt::text, greatest(6, length(v_receipt::text)), '0'), p_idempotency_key,
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

ALTER TABLE audit_logs DROP COLUMN branch_id;
ALTER TABLE journal_entries DROP COLUMN branch_id;
ALTER TABLE transactions DROP COLUMN branch_id;
ALTER TABLE payment_schedules DROP COLUMN branch_id;
ALTER TABLE loans DROP COLUMN branch_id;
ALTER TABLE customers DROP COLUMN branch_id;
ALTER TABLE users DROP COLUMN branch_id;

CREATE OR REPLACE FUNCTION perform_database_maintenance() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
DECLARE
    c_tables  CONSTANT text[] := ARRAY['users', 'customers', 'loans', 'transactions', 'payment_schedules',
                                       'sms_templates', 'sms_histories', 'journal_entries',
                                       'journal_entry_details', 'chart_of_accounts', 'audit_logs'];
    v_started   timestamptz := clock_timestamp();
    v_session   text := nullif(current_setting('astrofin.user_id', true), '');
    v_raw       text := nullif(btrim(current_setting('astrofin.default_threshold_days', true)), '');
    v_threshold integer;
    v_role      text;
    v_table     text;
    v_defaulted integer;
    v_sealed    integer;
    v_sizes     jsonb;
    v_rows      jsonb;
BEGIN
    -- Run by an administrator from the application, or by the superuser maintenance script.
    IF v_session IS NOT NULL THEN
        SELECT role INTO v_role FROM users WHERE id::text = v_session AND is_active;
        IF v_role IS DISTINCT FROM 'admin' THEN
            RAISE EXCEPTION 'database maintenance is for administrators; the signed-in user (%) is not one',
                v_session USING ERRCODE = 'P0106';
        END IF;
    END IF;
    IF v_raw IS NULL THEN
        v_threshold := 90;
    ELSIF v_raw ~ '^[0-9]{1,5}$' THEN
        v_threshold := v_raw::integer;
    ELSE
        RAISE EXCEPTION 'the setting astrofin.default_threshold_days must be a whole number of days, not %',
            quote_literal(v_raw) USING ERRCODE = 'P0107';
    END IF;

    -- Table names come from the fixed list above.
    FOREACH v_table IN ARRAY c_tables LOOP
        EXECUTE format('ANALYZE %I', v_table);
    END LOOP;
    PERFORM refresh_monthly_financial_summary();
    v_defaulted := mark_defaulted_loans_unchecked(v_threshold, current_date);
    v_sealed := seal_audit_log();

    SELECT jsonb_object_agg(c.relname, pg_total_relation_size(c.oid) ORDER BY c.relname),
           jsonb_object_agg(c.relname, GREATEST(c.reltuples, 0)::bigint ORDER BY c.relname)
    INTO v_sizes, v_rows
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relname = ANY (c_tables || ARRAY['mvw_monthly_financial_summary', 'audit_seals']);

    RETURN jsonb_build_object(
        'started_at', v_started,
        'finished_at', clock_timestamp(),
        'duration_ms', round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 1),
        'analyzed_tables', to_jsonb(c_tables),
        'monthly_summary_refreshed', true,
        'default_threshold_days', v_threshold,
        'loans_marked_defaulted', v_defaulted,
        'audit_rows_sealed', v_sealed,
        'audit_rows_unsealed', (SELECT count(*) FROM audit_logs WHERE chain_seq IS NULL),
        'par30', calculate_par(30, current_date),
        'table_sizes_bytes', v_sizes,
        'table_rows_estimate', v_rows,
        'database_size_bytes', pg_database_size(current_database())
    );
END $_$;

DROP FUNCTION branch_subtree(bigint);
DROP FUNCTION astrofin_default_branch();
DROP FUNCTION astrofin_sees_head_office();
DROP FUNCTION astrofin_branch_lineage();
DROP FUNCTION astrofin_branch_scope();
DROP FUNCTION astrofin_is_owner_session();
DROP FUNCTION astrofin_user_branch();

DO $$
DECLARE
    v_seq text;
BEGIN
    FOR v_seq IN SELECT b.receipt_sequence::text FROM branches b WHERE b.receipt_sequence <> 'receipt_number_seq'::regclass
    LOOP
        EXECUTE format('DROP SEQUENCE %s', v_seq);
    END LOOP;
END $$;
DROP TABLE branches;
DROP FUNCTION branches_before_write();
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM astrofin_definer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM astrofin_definer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM astrofin_definer;
REVOKE ALL ON SCHEMA public FROM astrofin_definer;
