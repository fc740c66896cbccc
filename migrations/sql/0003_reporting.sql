-- Reporting: days past due, the as-of functions the views are built on, the four views, PAR, defaulting
-- and overdue reminders (docs/database.md "Days past due, PAR, default", "Functions", "Views").
--
-- The as-of functions are plain LANGUAGE sql, STABLE, not SECURITY DEFINER and a single SELECT, so the
-- planner inlines them into the calling query: `SELECT … FROM vw_loan_summary WHERE loan_id = 42` touches
-- one loan, not all of them. They run with the caller's privileges on the underlying tables.
--
-- Payment state is the current one: an as-of date moves the clock (which installments are due), it does
-- not undo payments recorded after that date.
--
-- "Still owes money" is `status <> 'paid'`, the predicate of payment_schedules_unpaid_idx, so DPD is an
-- index lookup per loan; a paid installment owes nothing, so sums of what is owed read unpaid rows only.

-- Refuses with a message when p_user_id may not do p_what (common.md: role from users, and the session's
-- astrofin.user_id, when set, must be that same user).
CREATE FUNCTION reporting_assert_actor(p_user_id bigint, p_roles text[], p_what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_role    text;
    v_active  boolean;
    v_name    text;
    v_session text := nullif(current_setting('astrofin.user_id', true), '');
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION '% needs the id of the staff member doing it (got none)', p_what
            USING ERRCODE = 'P0107';
    END IF;
    SELECT role, is_active, username INTO v_role, v_active, v_name FROM users WHERE id = p_user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % not found: % needs an existing staff account', p_user_id, p_what
            USING ERRCODE = 'P0101';
    END IF;
    IF v_session IS NOT NULL AND v_session IS DISTINCT FROM p_user_id::text THEN
        RAISE EXCEPTION 'the signed-in user (%) cannot act as user % (%)', v_session, p_user_id, v_name
            USING ERRCODE = 'P0106';
    END IF;
    IF NOT v_active THEN
        RAISE EXCEPTION 'user % is deactivated and cannot %', v_name, p_what USING ERRCODE = 'P0106';
    END IF;
    IF NOT (v_role = ANY (p_roles)) THEN
        RAISE EXCEPTION 'user % is a %; only % may %', v_name, v_role, array_to_string(p_roles, ' or '), p_what
            USING ERRCODE = 'P0106';
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION reporting_assert_actor(bigint, text[], text) FROM PUBLIC;

-- DPD of one loan on day p_as_of (default today): as_of − due date of the oldest installment still owing,
-- when that date is before as_of; otherwise 0. An installment due today is not overdue.
CREATE FUNCTION loan_days_past_due(p_loan_id bigint, p_as_of date DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_as_of  date := COALESCE(p_as_of, current_date);
    v_oldest date;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'days past due needs a loan id (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM loans WHERE id = p_loan_id) THEN
        RAISE EXCEPTION 'loan % not found', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    -- min(due_date) over (loan_id, due_date) WHERE status <> 'paid': the first entry of the partial index.
    SELECT min(ps.due_date) INTO v_oldest
    FROM payment_schedules ps
    WHERE ps.loan_id = p_loan_id AND ps.status <> 'paid';
    IF v_oldest IS NULL OR v_oldest >= v_as_of THEN
        RETURN 0;
    END IF;
    RETURN v_as_of - v_oldest;
END $$;

-- One row per loan as of a day. next_due_date is the due date of the oldest installment still owing
-- (where the next payment goes, docs/database.md "Payments"); it is in the past for an overdue loan and NULL
-- when nothing is owed. A loan without a schedule (not disbursed) shows zeros.
CREATE FUNCTION loan_summary_as_of(p_as_of date)
RETURNS TABLE (
    loan_id bigint, loan_number text, customer_id bigint, customer_number text, customer_name text,
    principal_amount numeric, interest_rate numeric, interest_method text, term integer,
    repayment_frequency text, status text, disbursement_date date,
    total_due numeric, total_paid numeric, outstanding_principal numeric, outstanding_total numeric,
    next_due_date date, days_past_due integer, loan_officer_id bigint, loan_officer_name text
)
LANGUAGE sql STABLE AS $$
    SELECT l.id, l.loan_number, l.customer_id, c.customer_number, c.first_name || ' ' || c.last_name,
           l.principal_amount, l.interest_rate, l.interest_method, l.term,
           l.repayment_frequency, l.status, l.disbursement_date,
           COALESCE(s.total_due, 0), COALESCE(s.total_paid, 0),
           COALESCE(s.outstanding_principal, 0), COALESCE(s.outstanding_total, 0),
           s.oldest_unpaid,
           CASE WHEN s.oldest_unpaid < COALESCE(p_as_of, current_date)
                THEN COALESCE(p_as_of, current_date) - s.oldest_unpaid ELSE 0 END,
           l.loan_officer_id, u.full_name
    FROM loans l
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN users u ON u.id = l.loan_officer_id
    CROSS JOIN LATERAL (
        SELECT sum(ps.total_due) AS total_due,
               sum(ps.total_paid) AS total_paid,
               sum(ps.principal_due - ps.principal_paid) AS outstanding_principal,
               sum(ps.total_due - ps.total_paid) AS outstanding_total,
               min(ps.due_date) FILTER (WHERE ps.status <> 'paid') AS oldest_unpaid
        FROM payment_schedules ps
        WHERE ps.loan_id = l.id
    ) s
$$;

-- Active and defaulted loans with DPD > 0 as of a day. Driven by the overdue installments themselves
-- (payment_schedules_due_idx: due_date WHERE status <> 'paid'), then one unpaid-index lookup per loan.
CREATE FUNCTION overdue_loans_as_of(p_as_of date)
RETURNS TABLE (
    loan_id bigint, loan_number text, status text, customer_id bigint, customer_number text,
    customer_name text, first_name text, last_name text, phone text,
    days_past_due integer, amount_overdue numeric, oldest_due_date date, outstanding_principal numeric,
    outstanding_total numeric, loan_officer_id bigint, loan_officer_name text
)
LANGUAGE sql STABLE AS $$
    SELECT l.id, l.loan_number, l.status, l.customer_id, c.customer_number,
           c.first_name || ' ' || c.last_name, c.first_name, c.last_name, c.phone,
           COALESCE(p_as_of, current_date) - s.oldest_due_date,
           s.amount_overdue, s.oldest_due_date, s.outstanding_principal, s.outstanding_total,
           l.loan_officer_id, u.full_name
    FROM loans l
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN users u ON u.id = l.loan_officer_id
    CROSS JOIN LATERAL (
        SELECT min(ps.due_date) AS oldest_due_date,
               sum(ps.total_due - ps.total_paid)
                   FILTER (WHERE ps.due_date < COALESCE(p_as_of, current_date)) AS amount_overdue,
               sum(ps.principal_due - ps.principal_paid) AS outstanding_principal,
               sum(ps.total_due - ps.total_paid) AS outstanding_total
        FROM payment_schedules ps
        WHERE ps.loan_id = l.id AND ps.status <> 'paid'
    ) s
    WHERE l.status IN ('active', 'defaulted')
      AND s.oldest_due_date < COALESCE(p_as_of, current_date)
      AND l.id IN (SELECT od.loan_id FROM payment_schedules od
                   WHERE od.status <> 'paid' AND od.due_date < COALESCE(p_as_of, current_date))
$$;

CREATE VIEW vw_loan_summary AS
    SELECT * FROM loan_summary_as_of(current_date);

CREATE VIEW vw_overdue_loans AS
    SELECT * FROM overdue_loans_as_of(current_date);

CREATE VIEW vw_daily_transactions AS
    SELECT t.transaction_date,
           t.transaction_type,
           count(*)::bigint AS transaction_count,
           sum(t.amount) AS total_amount,
           sum(t.principal_amount) AS total_principal,
           sum(t.interest_amount) AS total_interest,
           sum(t.penalty_amount) AS total_penalty
    FROM transactions t
    GROUP BY t.transaction_date, t.transaction_type;

-- Per month, cash basis. A reversal counts negatively, with the figures of the transaction it reverses,
-- in the month of the reversal. new_loans are loans disbursed in the month; a loan is active at month end
-- when it was disbursed by then and neither closed nor written off by then.
CREATE MATERIALIZED VIEW mvw_monthly_financial_summary AS
WITH money AS (
    SELECT date_trunc('month', t.transaction_date)::date AS month,
           CASE WHEN t.transaction_type = 'reversal' THEN -1 ELSE 1 END AS sign,
           CASE WHEN t.transaction_type = 'reversal' THEN o.transaction_type ELSE t.transaction_type END AS kind,
           CASE WHEN t.transaction_type = 'reversal' THEN o.amount ELSE t.amount END AS amount,
           CASE WHEN t.transaction_type = 'reversal' THEN o.principal_amount ELSE t.principal_amount END AS principal,
           CASE WHEN t.transaction_type = 'reversal' THEN o.interest_amount ELSE t.interest_amount END AS interest,
           CASE WHEN t.transaction_type = 'reversal' THEN o.penalty_amount ELSE t.penalty_amount END AS penalty
    FROM transactions t
    LEFT JOIN transactions o ON o.id = t.reverses_transaction_id
),
money_by_month AS (
    SELECT month,
           COALESCE(sum(sign * amount) FILTER (WHERE kind = 'disbursement'), 0) AS disbursed,
           COALESCE(sum(sign * principal) FILTER (WHERE kind = 'repayment'), 0) AS principal_collected,
           COALESCE(sum(sign * interest) FILTER (WHERE kind = 'repayment'), 0) AS interest_collected,
           COALESCE(sum(sign * penalty) FILTER (WHERE kind = 'repayment'), 0) AS penalties_collected,
           COALESCE(sum(sign * amount) FILTER (WHERE kind = 'repayment'), 0) AS total_collected,
           COALESCE(sum(sign * amount) FILTER (WHERE kind = 'write_off'), 0) AS written_off,
           count(*) FILTER (WHERE kind = 'repayment' AND sign = 1) AS repayment_count
    FROM money
    WHERE kind IS NOT NULL
    GROUP BY month
),
loan_events AS (
    SELECT date_trunc('month', l.disbursement_date)::date AS month, 1 AS opened, 0 AS closed, 0 AS ended
    FROM loans l WHERE l.disbursement_date IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', LEAST(l.closed_at, l.written_off_at))::date, 0,
           CASE WHEN l.closed_at IS NOT NULL AND (l.written_off_at IS NULL OR l.closed_at <= l.written_off_at)
                THEN 1 ELSE 0 END,
           1
    FROM loans l
    WHERE l.disbursement_date IS NOT NULL AND (l.closed_at IS NOT NULL OR l.written_off_at IS NOT NULL)
),
loans_by_month AS (
    SELECT month, sum(opened)::bigint AS new_loans, sum(closed)::bigint AS loans_closed,
           sum(opened - ended)::bigint AS net_change
    FROM loan_events
    GROUP BY month
),
bounds AS (
    SELECT min(month) AS first_month, max(month) AS last_month
    FROM (SELECT month FROM money_by_month UNION ALL SELECT month FROM loans_by_month) m
),
months AS (
    SELECT gs::date AS month
    FROM bounds,
         generate_series(bounds.first_month,
                         GREATEST(bounds.last_month, date_trunc('month', current_date)::date),
                         interval '1 month') gs
    WHERE bounds.first_month IS NOT NULL
)
SELECT m.month,
       COALESCE(mm.disbursed, 0)::numeric(16,2) AS disbursed,
       COALESCE(mm.principal_collected, 0)::numeric(16,2) AS principal_collected,
       COALESCE(mm.interest_collected, 0)::numeric(16,2) AS interest_collected,
       COALESCE(mm.penalties_collected, 0)::numeric(16,2) AS penalties_collected,
       COALESCE(mm.total_collected, 0)::numeric(16,2) AS total_collected,
       COALESCE(mm.written_off, 0)::numeric(16,2) AS written_off,
       COALESCE(mm.repayment_count, 0)::bigint AS repayment_count,
       COALESCE(lm.new_loans, 0)::bigint AS new_loans,
       COALESCE(lm.loans_closed, 0)::bigint AS loans_closed,
       (sum(COALESCE(lm.net_change, 0)) OVER (ORDER BY m.month))::bigint AS active_loans_at_month_end
FROM months m
LEFT JOIN money_by_month mm ON mm.month = m.month
LEFT JOIN loans_by_month lm ON lm.month = m.month
WITH DATA;

CREATE UNIQUE INDEX mvw_monthly_financial_summary_month_key ON mvw_monthly_financial_summary (month);

-- PAR_N by docs/database.md: principal still owed on active/defaulted loans with DPD > N over all principal still
-- owed on active/defaulted loans, in percent to 2 decimals; 0 when nothing is owed.
CREATE FUNCTION calculate_par(p_days_threshold integer, p_as_of date DEFAULT NULL) RETURNS numeric(5,2)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_as_of   date := COALESCE(p_as_of, current_date);
    v_total   numeric;
    v_at_risk numeric;
BEGIN
    IF p_days_threshold IS NULL THEN
        RAISE EXCEPTION 'PAR needs a number of days (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF p_days_threshold < 0 THEN
        RAISE EXCEPTION 'PAR days must be 0 or more, not %', p_days_threshold USING ERRCODE = 'P0107';
    END IF;
    SELECT sum(owed), sum(owed) FILTER (WHERE oldest < v_as_of AND v_as_of - oldest > p_days_threshold)
    INTO v_total, v_at_risk
    FROM (
        SELECT sum(ps.principal_due - ps.principal_paid) AS owed, min(ps.due_date) AS oldest
        FROM payment_schedules ps
        JOIN loans l ON l.id = ps.loan_id
        WHERE ps.status <> 'paid' AND l.status IN ('active', 'defaulted')
        GROUP BY ps.loan_id
    ) per_loan;
    IF v_total IS NULL OR v_total <= 0 THEN
        RETURN 0;
    END IF;
    RETURN round(100 * COALESCE(v_at_risk, 0) / v_total, 2);
END $$;

-- The work of mark_defaulted_loans without the role check, for perform_database_maintenance.
-- Candidates are locked first; the update then reads the schedule afresh (a new statement sees what was
-- committed while it waited), so a payment committed meanwhile keeps its loan active.
CREATE FUNCTION mark_defaulted_loans_unchecked(p_days_threshold integer, p_as_of date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids   bigint[];
    v_count integer;
BEGIN
    SELECT array_agg(l.id) INTO v_ids
    FROM (SELECT l.id FROM loans l
          WHERE l.status = 'active'
            AND l.id IN (SELECT o.loan_id FROM overdue_loans_as_of(p_as_of) o
                         WHERE o.status = 'active' AND o.days_past_due > p_days_threshold)
          ORDER BY l.id
          FOR UPDATE OF l) l;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- DPD > N  <=>  the oldest installment still owing fell due before as_of − N.
    UPDATE loans l SET status = 'defaulted'
    WHERE l.id = ANY (v_ids) AND l.status = 'active'
      AND (SELECT min(ps.due_date) FROM payment_schedules ps
           WHERE ps.loan_id = l.id AND ps.status <> 'paid') < p_as_of - p_days_threshold;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
REVOKE EXECUTE ON FUNCTION mark_defaulted_loans_unchecked(integer, date) FROM PUBLIC;

CREATE FUNCTION mark_defaulted_loans(p_days_threshold integer, p_created_by bigint, p_as_of date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_as_of   date := COALESCE(p_as_of, current_date);
    v_setting text := current_setting('astrofin.user_id', true);
    v_count   integer;
BEGIN
    IF p_days_threshold IS NULL THEN
        RAISE EXCEPTION 'marking loans defaulted needs a threshold in days (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF p_days_threshold < 0 THEN
        RAISE EXCEPTION 'the default threshold must be 0 days or more, not %', p_days_threshold
            USING ERRCODE = 'P0107';
    END IF;
    PERFORM reporting_assert_actor(p_created_by, ARRAY['supervisor'], 'mark loans defaulted');
    IF v_as_of > current_date THEN
        RAISE EXCEPTION 'loans cannot be marked defaulted as of %, a day in the future', v_as_of
            USING ERRCODE = 'P0104';
    END IF;
    -- The audit rows of a superuser call (no session user) name the user given.
    PERFORM set_config('astrofin.user_id', p_created_by::text, true);
    v_count := mark_defaulted_loans_unchecked(p_days_threshold, v_as_of);
    PERFORM set_config('astrofin.user_id', COALESCE(v_setting, ''), true);
    RETURN v_count;
END $$;

-- Overdue reminders remember the day they were for, so asking twice for one day queues once, also when
-- two people ask at the same moment (the unique index below settles the race).
ALTER TABLE sms_histories ADD COLUMN reminder_date date;
CREATE UNIQUE INDEX sms_histories_reminder_key ON sms_histories (loan_id, reminder_date)
    WHERE reminder_date IS NOT NULL;

-- One implementation queues overdue reminders, for every loan at least p_days_overdue late or for the
-- loans staff picked (p_loan_ids); callers check the actor first.
CREATE FUNCTION reporting_queue_reminders(p_days_overdue integer, p_loan_ids bigint[], p_created_by bigint,
                                          p_as_of date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_as_of    date := COALESCE(p_as_of, current_date);
    v_currency text := COALESCE(nullif(btrim(current_setting('astrofin.currency', true)), ''), 'KES');
    v_template sms_templates;
    v_count    integer;
BEGIN
    IF v_as_of > current_date THEN
        RAISE EXCEPTION 'reminders cannot be sent as of %, a day in the future', v_as_of USING ERRCODE = 'P0104';
    END IF;
    SELECT * INTO v_template FROM sms_templates WHERE name = 'overdue_reminder' AND is_active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no active SMS template named overdue_reminder; an administrator can add or activate it'
            USING ERRCODE = 'P0101';
    END IF;

    INSERT INTO sms_histories (customer_id, loan_id, template_id, phone_number, message, status, created_by,
                               reminder_date)
    SELECT o.customer_id, o.loan_id, v_template.id, btrim(o.phone),
           -- Customer-typed fields go in last, so braces in a name are never read as placeholders.
           replace(replace(replace(replace(replace(replace(v_template.template_text,
               '{loan_number}', o.loan_number),
               '{customer_number}', o.customer_number),
               '{days_past_due}', o.days_past_due::text),
               '{amount_overdue}', v_currency || ' ' || to_char(o.amount_overdue, 'FM999,999,999,990.00')),
               '{last_name}', o.last_name),
               '{first_name}', o.first_name),
           'queued', p_created_by, v_as_of
    FROM overdue_loans_as_of(v_as_of) o
    WHERE o.days_past_due >= p_days_overdue
      AND (p_loan_ids IS NULL OR o.loan_id = ANY (p_loan_ids))
      AND o.phone IS NOT NULL AND btrim(o.phone) <> ''
      -- A reminder queued today by other means (no reminder_date) also counts for today.
      AND NOT EXISTS (SELECT 1 FROM sms_histories h
                      WHERE h.loan_id = o.loan_id AND h.template_id = v_template.id
                        AND h.reminder_date IS NULL
                        AND h.created_at >= v_as_of::timestamptz AND h.created_at < (v_as_of + 1)::timestamptz)
    ORDER BY o.loan_id
    ON CONFLICT (loan_id, reminder_date) WHERE reminder_date IS NOT NULL DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;

CREATE FUNCTION send_overdue_loan_notifications(p_days_overdue integer, p_created_by bigint,
                                                p_as_of date DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_days_overdue IS NULL THEN
        RAISE EXCEPTION 'reminders need a number of days overdue (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF p_days_overdue < 1 THEN
        RAISE EXCEPTION 'reminders go to loans at least 1 day overdue; % days is not valid', p_days_overdue
            USING ERRCODE = 'P0107';
    END IF;
    PERFORM reporting_assert_actor(p_created_by, ARRAY['loan_officer', 'supervisor'], 'send overdue reminders');
    RETURN reporting_queue_reminders(p_days_overdue, NULL, p_created_by, p_as_of);
END $$;

-- The overdue queue's "remind the selected loans": one queued reminder per chosen loan that is overdue and
-- has a phone, at most one per loan and day; returns how many were queued.
CREATE FUNCTION send_loan_reminders(p_loan_ids bigint[], p_created_by bigint, p_as_of date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_loan_ids IS NULL OR cardinality(p_loan_ids) = 0 THEN
        RAISE EXCEPTION 'choose at least one loan to remind' USING ERRCODE = 'P0107';
    END IF;
    PERFORM reporting_assert_actor(p_created_by, ARRAY['loan_officer', 'supervisor'], 'send overdue reminders');
    RETURN reporting_queue_reminders(1, p_loan_ids, p_created_by, p_as_of);
END $$;

CREATE FUNCTION refresh_monthly_financial_summary() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mvw_monthly_financial_summary;
END $$;

-- Grants (docs/database.md "Who may do what").
REVOKE EXECUTE ON FUNCTION loan_days_past_due(bigint, date), loan_summary_as_of(date), overdue_loans_as_of(date),
    calculate_par(integer, date), mark_defaulted_loans(integer, bigint, date),
    send_overdue_loan_notifications(integer, bigint, date), refresh_monthly_financial_summary(),
    reporting_queue_reminders(integer, bigint[], bigint, date), send_loan_reminders(bigint[], bigint, date)
    FROM PUBLIC;

GRANT EXECUTE ON FUNCTION loan_days_past_due(bigint, date), loan_summary_as_of(date)
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;
GRANT SELECT ON vw_loan_summary
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;

GRANT EXECUTE ON FUNCTION overdue_loans_as_of(date) TO astrofin_loan_officer, astrofin_supervisor;
GRANT SELECT ON vw_overdue_loans TO astrofin_loan_officer, astrofin_supervisor;

GRANT SELECT ON vw_daily_transactions, mvw_monthly_financial_summary
    TO astrofin_loan_officer, astrofin_supervisor, astrofin_accountant;

GRANT EXECUTE ON FUNCTION calculate_par(integer, date)
    TO astrofin_loan_officer, astrofin_supervisor, astrofin_accountant;
GRANT EXECUTE ON FUNCTION mark_defaulted_loans(integer, bigint, date) TO astrofin_supervisor;
GRANT EXECUTE ON FUNCTION send_overdue_loan_notifications(integer, bigint, date),
    send_loan_reminders(bigint[], bigint, date) TO astrofin_loan_officer, astrofin_supervisor;
GRANT EXECUTE ON FUNCTION refresh_monthly_financial_summary()
    TO astrofin_supervisor, astrofin_accountant, astrofin_admin;
