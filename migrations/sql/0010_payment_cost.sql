-- Payments at scale, part 3: fewer statements, function calls and index entries per payment, with the same
-- rows written, the same errors and the same audit content.
--
-- 1. record_loan_payment reads the schedule once: one query gives what the loan owes and the allocation
--    (ledger_allocate's rule, in SQL: oldest installment still owing first; within it penalty, interest,
--    principal). The payable checks of ledger_check_payable are made in line, with its messages. Whether the
--    payment closes the loan follows from the same read (it pays everything owed). The receipt and journal
--    entry numbers are built in line (scale_padded_number's format) instead of by a function call that a
--    volatile argument kept from being inlined; the journal lines find their accounts with one join. The
--    amount checks of ledger_check_amount are made in line (its messages), the journal entry is posted by
--    an assignment rather than PERFORM (no query of its own), and the function runs with generic plans
--    (plan_cache_mode): the schedule UPDATE from unnest(arrays) was otherwise planned again on every call.
-- 2. updated_at: the BEFORE UPDATE trigger of payment_schedules and loans runs only when the statement has
--    not already set updated_at to now() (the value the trigger would set), so the payment's own UPDATEs,
--    which set it, call no trigger function; every other writer gets the stamp as before.
-- 3. The loan summary (0005/0009) is refreshed after an UPDATE of the schedule only for rows whose change can
--    move it (loan, due date, principal due or paid, paid or not): a row-level trigger with that WHEN
--    condition, evaluated without calling a function. INSERT and DELETE keep the statement-level refresh.
-- 4. The statement-level audit trigger reads the signed-in user and the role once per statement instead of
--    once per row.
-- 5. audit_logs: the change time is indexed by a BRIN index (the log is appended in time order) instead of a
--    btree that took an entry per audit row; the audit pane's date filter still finds its rows by it.
-- 6. payment_schedules is stored with fillfactor 90: a payment's UPDATE of an installment that stays partly
--    paid can then be a heap-only (HOT) update on the same page, writing no index entry. Applies to pages
--    written from now on (the scale seed loads the table after TRUNCATE, so a seeded book gets it).
-- 7. The deferred double-entry check reads an entry and its lines in one query instead of two.

ALTER TABLE payment_schedules SET (fillfactor = 90);

DROP INDEX audit_logs_changed_at_idx;
CREATE INDEX audit_logs_changed_at_brin ON audit_logs USING brin (changed_at);

-- 2. updated_at only when the statement has not set it already.
DROP TRIGGER payment_schedules_updated_at ON payment_schedules;
CREATE TRIGGER payment_schedules_updated_at BEFORE UPDATE ON payment_schedules
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()) EXECUTE FUNCTION set_updated_at();
DROP TRIGGER loans_updated_at ON loans;
CREATE TRIGGER loans_updated_at BEFORE UPDATE ON loans
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now()) EXECUTE FUNCTION set_updated_at();

-- 3. The summary of one loan, after an UPDATE of a schedule row that can move it.
CREATE FUNCTION scale_schedule_row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE loans l
       SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest, updated_at = now()
      FROM (SELECT coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed, min(ps.due_date) AS oldest
              FROM payment_schedules ps WHERE ps.loan_id = NEW.loan_id AND ps.status <> 'paid') s
     WHERE l.id = NEW.loan_id
       AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    IF OLD.loan_id IS DISTINCT FROM NEW.loan_id THEN
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest, updated_at = now()
          FROM (SELECT coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed, min(ps.due_date) AS oldest
                  FROM payment_schedules ps WHERE ps.loan_id = OLD.loan_id AND ps.status <> 'paid') s
         WHERE l.id = OLD.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION scale_schedule_row_changed() FROM PUBLIC;

DROP TRIGGER payment_schedules_summary_update ON payment_schedules;
CREATE TRIGGER payment_schedules_summary_update AFTER UPDATE ON payment_schedules
    FOR EACH ROW
    WHEN (OLD.loan_id IS DISTINCT FROM NEW.loan_id OR OLD.due_date IS DISTINCT FROM NEW.due_date
          OR OLD.principal_due IS DISTINCT FROM NEW.principal_due
          OR OLD.principal_paid IS DISTINCT FROM NEW.principal_paid
          OR (OLD.status <> 'paid') IS DISTINCT FROM (NEW.status <> 'paid'))
    EXECUTE FUNCTION scale_schedule_row_changed();

-- 4. The audit rows of one statement (0009), the user and role read once.
CREATE OR REPLACE FUNCTION audit_statement_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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

-- 1. The postings of 0007, the entry number and the accounts found in line.
CREATE OR REPLACE FUNCTION create_journal_entry(p_txn transactions, p_loan_number text, p_created_by bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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
REVOKE EXECUTE ON FUNCTION create_journal_entry(transactions, text, bigint) FROM PUBLIC;

-- 1. record_loan_payment of 0007: the same checks in the same order, the same rows, one read of the schedule.
CREATE OR REPLACE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date,
                                               p_created_by bigint, p_idempotency_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET plan_cache_mode = force_generic_plan AS $$
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

-- The double-entry check of 0009 with the entry and its lines read in one query.
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
    SELECT e.entry_number, count(d.id), coalesce(sum(d.debit), 0), coalesce(sum(d.credit), 0)
      INTO v_number, v_lines, v_debit, v_credit
      FROM journal_entries e LEFT JOIN journal_entry_details d ON d.journal_entry_id = e.id
     WHERE e.id = v_entry
     GROUP BY e.entry_number;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
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
