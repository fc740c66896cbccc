-- Back to 0019: no groups, no collection sheets. The repayments a sheet posted stay as they were posted (each is an
-- ordinary repayment with its receipt and journal entry); the sheets, their lines, the members and the groups go,
-- and loans lose their group.
DROP FUNCTION post_collection_sheet(bigint, date, jsonb, bigint, text), collection_sheet(bigint, date),
    create_group(text, text, bigint, bigint, integer, text, date, text, bigint),
    update_group(bigint, text, bigint, integer, text, date, text, bigint), close_group(bigint, bigint),
    add_group_member(bigint, bigint, text, date, bigint), remove_group_member(bigint, date, bigint),
    next_meeting_date(bigint, date), group_meeting_dates(bigint, date, date);
DROP TRIGGER loans_check_group ON loans;
DROP FUNCTION loans_check_group();
DROP INDEX loans_group_idx;
ALTER TABLE loans DROP COLUMN group_id;
DROP FUNCTION group_visible(bigint);
DROP TABLE collection_sheet_lines, collection_sheets, group_members, groups;
DROP FUNCTION groups_take_branch(), group_members_take_branch(), collection_sheets_take_branch(),
    collection_sheet_lines_take_branch(), group_check_officer(bigint, bigint),
    group_check_meeting(integer, text, date, text), group_check_name(text), group_meeting_text(integer, text),
    group_is_meeting_day(text, date, date), group_next_meeting(text, date, date);
DROP SEQUENCE group_number_seq;

-- The counter's payment in one piece again (0017), and tills for the counter only.
CREATE OR REPLACE FUNCTION record_loan_payment(p_loan_id bigint, p_amount numeric, p_payment_date date, p_created_by bigint,
                                    p_idempotency_key text DEFAULT NULL, p_payment_method text DEFAULT 'cash',
                                    p_payment_reference text DEFAULT NULL) RETURNS bigint
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
DROP FUNCTION ledger_take_repayment(bigint, numeric, date, bigint, text, text, text);
CREATE OR REPLACE FUNCTION open_till(p_till_id bigint, p_float numeric, p_user bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_till    tills%ROWTYPE;
    v_branch  branches%ROWTYPE;
    v_holder  text;
    v_since   timestamptz;
    v_code    text;
    v_vault   numeric;
    v_session bigint;
    v_entry   bigint;
BEGIN
    PERFORM ledger_require_actor(p_user, ARRAY['cashier', 'supervisor'], 'open a till');
    IF p_till_id IS NULL THEN
        RAISE EXCEPTION 'Choose the till to open' USING ERRCODE = 'P0107', COLUMN = 'till_id';
    END IF;
    PERFORM till_check_cash(p_float, 'opening float', 'opening_float');
    SELECT * INTO v_till FROM tills t WHERE t.id = p_till_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Till % does not exist or is not one of your branch''s', p_till_id USING ERRCODE = 'P0101',
            COLUMN = 'till_id';
    END IF;
    -- Serialises the vault's withdrawals of one branch (FOR NO KEY UPDATE: payments' key checks still pass).
    SELECT * INTO v_branch FROM branches b WHERE b.id = v_till.branch_id FOR NO KEY UPDATE;
    IF v_till.branch_id IS DISTINCT FROM astrofin_user_branch() THEN
        RAISE EXCEPTION 'Till % belongs to %; open a till of your own branch', v_till.code, v_branch.code
            USING ERRCODE = 'P0106', COLUMN = 'till_id';
    END IF;
    IF NOT v_till.is_active THEN
        RAISE EXCEPTION 'Till % of % is deactivated; choose another till', v_till.code, v_branch.code
            USING ERRCODE = 'P0102', COLUMN = 'till_id';
    END IF;
    PERFORM branch_refuse_closed(v_branch.id, current_date);
    SELECT u.full_name, s.opened_at INTO v_holder, v_since
      FROM till_sessions s JOIN users u ON u.id = s.cashier_id
     WHERE s.till_id = v_till.id AND s.status = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'Till % is already open, held by % since %; it must be closed first', v_till.code, v_holder,
            to_char(v_since, 'YYYY-MM-DD HH24:MI') USING ERRCODE = 'P0102', COLUMN = 'till_id';
    END IF;
    SELECT t.code, s.opened_at INTO v_code, v_since
      FROM till_sessions s JOIN tills t ON t.id = s.till_id
     WHERE s.cashier_id = p_user AND s.status = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'You already hold till % open since %; close it before opening another', v_code,
            to_char(v_since, 'YYYY-MM-DD HH24:MI') USING ERRCODE = 'P0102', COLUMN = 'till_id';
    END IF;
    v_vault := till_vault_balance(v_branch.id);
    IF p_float > v_vault THEN
        RAISE EXCEPTION 'The vault of % holds %; a float of % is more than it holds', v_branch.code,
            till_money(v_vault), till_money(p_float) USING ERRCODE = 'P0103', COLUMN = 'opening_float';
    END IF;
    BEGIN
        INSERT INTO till_sessions (till_id, branch_id, cashier_id, opening_float)
        VALUES (v_till.id, v_till.branch_id, p_user, p_float)
        RETURNING id INTO v_session;
    EXCEPTION WHEN unique_violation THEN
        -- The same cashier opening two tills at once: the second finds the first's committed session.
        RAISE EXCEPTION 'You already hold a till open; close it before opening another'
            USING ERRCODE = 'P0102', COLUMN = 'till_id';
    END;
    IF p_float > 0 THEN
        v_entry := till_post_entry(v_branch.id, 'Float for till ' || v_till.code || ' of ' || v_branch.code
                                                 || ' (session ' || v_session || ')', p_user);
        PERFORM ledger_post_line(v_entry, '1000', p_float, 0, 'Float into till ' || v_till.code);
        PERFORM ledger_post_line(v_entry, '1050', 0, p_float, 'Float out of the vault');
        UPDATE till_sessions SET open_entry_id = v_entry WHERE id = v_session;
    END IF;
    RETURN v_session;
END $$;

CREATE OR REPLACE FUNCTION close_till(p_session_id bigint, p_counted numeric, p_reason text, p_user bigint,
                           p_denominations jsonb DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_session  till_sessions%ROWTYPE;
    v_till     tills%ROWTYPE;
    v_branch   text;
    v_role     text;
    v_holder   text;
    v_in       numeric;
    v_out      numeric;
    v_expected numeric;
    v_diff     numeric;
    v_pieces   numeric;
    v_reason   text := nullif(btrim(p_reason), '');
    v_status   text;
    v_entry    bigint;
BEGIN
    PERFORM ledger_require_actor(p_user, ARRAY['cashier', 'supervisor'], 'close a till');
    IF p_session_id IS NULL THEN
        RAISE EXCEPTION 'Which till session? The session id is missing' USING ERRCODE = 'P0107';
    END IF;
    PERFORM till_check_cash(p_counted, 'counted cash', 'counted_cash');
    IF p_denominations IS NOT NULL AND jsonb_typeof(p_denominations) <> 'null' THEN
        v_pieces := till_denominations_total(p_denominations);
        IF v_pieces <> p_counted THEN
            RAISE EXCEPTION 'The notes and coins add up to %, not the % counted', till_money(v_pieces),
                till_money(p_counted) USING ERRCODE = 'P0103', COLUMN = 'denominations';
        END IF;
    END IF;
    IF v_reason IS NOT NULL AND length(v_reason) > 500 THEN
        RAISE EXCEPTION 'The reason has at most 500 characters' USING ERRCODE = 'P0107', COLUMN = 'close_reason';
    END IF;
    SELECT * INTO v_session FROM till_sessions s WHERE s.id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Till session % does not exist or is not one of your branch''s', p_session_id
            USING ERRCODE = 'P0101';
    END IF;
    SELECT * INTO v_till FROM tills t WHERE t.id = v_session.till_id;
    SELECT b.code INTO v_branch FROM branches b WHERE b.id = v_session.branch_id;
    IF v_session.cashier_id <> p_user THEN
        SELECT u.role INTO v_role FROM users u WHERE u.id = p_user;
        IF v_role <> 'supervisor' THEN
            SELECT u.full_name INTO v_holder FROM users u WHERE u.id = v_session.cashier_id;
            RAISE EXCEPTION 'Till % is held by %; only they or a supervisor may count it', v_till.code, v_holder
                USING ERRCODE = 'P0106';
        END IF;
    END IF;
    IF v_session.status <> 'open' THEN
        RAISE EXCEPTION 'Till % was already counted (%); it cannot be counted again', v_till.code,
            replace(v_session.status, '_', ' ') USING ERRCODE = 'P0102';
    END IF;
    SELECT c.cash_in, c.cash_out INTO v_in, v_out FROM till_session_cash(v_session.id) c;
    v_expected := v_session.opening_float + v_in - v_out;
    v_diff := p_counted - v_expected;
    IF v_diff <> 0 AND v_reason IS NULL THEN
        RAISE EXCEPTION 'The count is % % the % expected; say why', till_money(abs(v_diff)),
            CASE WHEN v_diff < 0 THEN 'short of' ELSE 'over' END, till_money(v_expected)
            USING ERRCODE = 'P0107', COLUMN = 'close_reason';
    END IF;
    v_status := CASE WHEN v_diff = 0 THEN 'closed' ELSE 'pending_approval' END;
    IF v_diff = 0 AND p_counted > 0 THEN
        v_entry := till_post_entry(v_session.branch_id, 'Close of till ' || v_till.code || ' of ' || v_branch
                                                        || ' (session ' || v_session.id || ')', p_user);
        PERFORM ledger_post_line(v_entry, '1050', p_counted, 0, 'Counted cash back into the vault');
        PERFORM ledger_post_line(v_entry, '1000', 0, p_counted, 'Cash out of till ' || v_till.code);
    END IF;
    UPDATE till_sessions
       SET expected_cash = v_expected, counted_cash = p_counted, difference = v_diff,
           denominations = CASE WHEN jsonb_typeof(p_denominations) = 'object' THEN p_denominations END,
           close_reason = v_reason, counted_at = now(), counted_by = p_user, status = v_status,
           closed_at = CASE WHEN v_status = 'closed' THEN now() END, close_entry_id = v_entry
     WHERE id = v_session.id;
    RETURN v_status;
END $$;
REVOKE EXECUTE ON FUNCTION open_till(bigint, numeric, bigint), close_till(bigint, numeric, text, bigint, jsonb)
    FROM astrofin_loan_officer;
