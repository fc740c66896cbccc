-- Back to 0009: 0001's updated_at triggers, 0005's statement-level summary trigger on UPDATE (0009 body),
-- 0009's audit trigger body, 0007's create_journal_entry and record_loan_payment, the btree on
-- audit_logs.changed_at, and the default fillfactor.
ALTER TABLE payment_schedules RESET (fillfactor);

DROP INDEX IF EXISTS audit_logs_changed_at_brin;
CREATE INDEX IF NOT EXISTS audit_logs_changed_at_idx ON audit_logs (changed_at);

DROP TRIGGER IF EXISTS payment_schedules_updated_at ON payment_schedules;
CREATE TRIGGER payment_schedules_updated_at BEFORE UPDATE ON payment_schedules
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
DROP TRIGGER IF EXISTS loans_updated_at ON loans;
CREATE TRIGGER loans_updated_at BEFORE UPDATE ON loans FOR EACH ROW EXECUTE FUNCTION set_updated_at();

DROP TRIGGER IF EXISTS payment_schedules_summary_update ON payment_schedules;
CREATE TRIGGER payment_schedules_summary_update AFTER UPDATE ON payment_schedules
    REFERENCING NEW TABLE AS scale_new_rows FOR EACH STATEMENT EXECUTE FUNCTION scale_schedule_changed();
DROP FUNCTION IF EXISTS scale_schedule_row_changed();

CREATE OR REPLACE FUNCTION audit_statement_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, n.id, TG_OP, NULL, to_jsonb(n), audit_current_user_id(),
               session_user || '/' || current_user
          FROM audit_new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, o.id, TG_OP, to_jsonb(o), NULL, audit_current_user_id(),
               session_user || '/' || current_user
          FROM audit_old_rows o;
    ELSE
        INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
        SELECT TG_TABLE_NAME, coalesce(n.id, o.id), TG_OP, to_jsonb(o), to_jsonb(n), audit_current_user_id(),
               session_user || '/' || current_user
          FROM audit_old_rows o FULL JOIN audit_new_rows n ON n.id = o.id
         ORDER BY coalesce(n.id, o.id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION create_journal_entry(p_txn transactions, p_loan_number text, p_created_by bigint) RETURNS bigint
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

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_entry  bigint;
    v_number text;
    v_lines  integer;
    v_debit  numeric;
    v_credit numeric;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        v_entry := NEW.id;
    ELSE
        v_entry := NEW.journal_entry_id;
        -- A line of an entry this transaction wrote: that entry's own trigger checks it, once, at commit.
        IF EXISTS (SELECT 1 FROM journal_entries e
                    WHERE e.id = v_entry AND e.xmin = pg_current_xact_id()::xid) THEN
            RETURN NULL;
        END IF;
    END IF;
    SELECT e.entry_number INTO v_number FROM journal_entries e WHERE e.id = v_entry;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT count(*), coalesce(sum(d.debit), 0), coalesce(sum(d.credit), 0)
      INTO v_lines, v_debit, v_credit
      FROM journal_entry_details d WHERE d.journal_entry_id = v_entry;
    IF v_lines < 2 THEN
        RAISE EXCEPTION 'Journal entry % has % line(s); an entry needs at least two', v_number, v_lines
            USING ERRCODE = 'P0108';
    END IF;
    IF v_debit <> v_credit THEN
        RAISE EXCEPTION 'Journal entry % does not balance: debits %, credits %', v_number, v_debit, v_credit
            USING ERRCODE = 'P0108';
    END IF;
    RETURN NULL;
END $$;
