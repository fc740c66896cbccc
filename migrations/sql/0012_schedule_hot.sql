-- Installments: a payment that leaves one partly paid is a heap-only (HOT) update.
--
-- The two partial indexes of unpaid installments (0001) were predicated on `status <> 'paid'`, so a payment
-- that moved an installment from pending to partial changed a column of an index predicate and had to write a
-- new entry in every index of the table, although the row fits on its page (fillfactor 90, 0010). They are now
-- predicated on `paid_date IS NULL`: paid_date changes only when an installment becomes fully paid (and back
-- when a reversal un-pays it), so the pending → partial → partial updates of payments touch no indexed column.
--
-- 1. Every writer keeps `status = 'paid'` <=> `paid_date IS NOT NULL`: record_loan_payment sets paid_date to
--    the payment date exactly when the status becomes paid and keeps the NULL of a partial row otherwise;
--    ledger_recompute_schedule (reversals) resets every row to pending / NULL and sets both together;
--    generate_payment_schedule inserts pending rows without a paid date; write_off_loan leaves the schedule
--    alone; the scale seed writes paid rows with their paid date and the others with none. The CHECK below
--    makes it a rule of the table, so "still owes money" can be read from either column.
-- 2. Every query that found unpaid installments through these indexes now states their predicate
--    (`paid_date IS NULL`), with the same results (by the CHECK): days past due of one loan, the overdue list
--    (per-loan sums of the page's rows), defaulting, and the loan summary refresh of the schedule triggers.
--    calculate_par reads the loans' summary columns (0005) and needs no change; loan_summary_as_of aggregates
--    all of a loan's rows and filters in the aggregate, which no index predicate serves.

ALTER TABLE payment_schedules
    ADD CONSTRAINT payment_schedules_paid_date_check CHECK ((status = 'paid') = (paid_date IS NOT NULL));

DROP INDEX payment_schedules_unpaid_idx;
CREATE INDEX payment_schedules_unpaid_idx ON payment_schedules (loan_id, due_date) WHERE paid_date IS NULL;
DROP INDEX payment_schedules_due_idx;
CREATE INDEX payment_schedules_due_idx ON payment_schedules (due_date) WHERE paid_date IS NULL;

-- 0003's body; the oldest unpaid installment is the first entry of payment_schedules_unpaid_idx.
CREATE OR REPLACE FUNCTION loan_days_past_due(p_loan_id bigint, p_as_of date DEFAULT NULL) RETURNS integer
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
    -- min(due_date) over (loan_id, due_date) WHERE paid_date IS NULL: the first entry of the partial index.
    SELECT min(ps.due_date) INTO v_oldest
    FROM payment_schedules ps
    WHERE ps.loan_id = p_loan_id AND ps.paid_date IS NULL;
    IF v_oldest IS NULL OR v_oldest >= v_as_of THEN
        RETURN 0;
    END IF;
    RETURN v_as_of - v_oldest;
END $$;

-- 0005's body; the per-loan sums read the loan's unpaid installments through payment_schedules_unpaid_idx.
CREATE OR REPLACE FUNCTION overdue_loans_as_of(p_as_of date)
RETURNS TABLE (
    loan_id bigint, loan_number text, status text, customer_id bigint, customer_number text,
    customer_name text, first_name text, last_name text, phone text,
    days_past_due integer, amount_overdue numeric, oldest_due_date date, outstanding_principal numeric,
    outstanding_total numeric, loan_officer_id bigint, loan_officer_name text
)
LANGUAGE sql STABLE AS $$
    SELECT l.id, l.loan_number, l.status, l.customer_id, c.customer_number,
           c.first_name || ' ' || c.last_name, c.first_name, c.last_name, c.phone,
           COALESCE(p_as_of, current_date) - l.oldest_unpaid_due_date,
           s.amount_overdue, l.oldest_unpaid_due_date, s.outstanding_principal, s.outstanding_total,
           l.loan_officer_id, u.full_name
    FROM loans l
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN users u ON u.id = l.loan_officer_id
    CROSS JOIN LATERAL (
        SELECT sum(ps.total_due - ps.total_paid)
                   FILTER (WHERE ps.due_date < COALESCE(p_as_of, current_date)) AS amount_overdue,
               sum(ps.principal_due - ps.principal_paid) AS outstanding_principal,
               sum(ps.total_due - ps.total_paid) AS outstanding_total
        FROM payment_schedules ps
        WHERE ps.loan_id = l.id AND ps.paid_date IS NULL
    ) s
    WHERE l.status IN ('active', 'defaulted')
      AND l.oldest_unpaid_due_date < COALESCE(p_as_of, current_date)
$$;

-- 0003's body.
CREATE OR REPLACE FUNCTION mark_defaulted_loans_unchecked(p_days_threshold integer, p_as_of date) RETURNS integer
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
           WHERE ps.loan_id = l.id AND ps.paid_date IS NULL) < p_as_of - p_days_threshold;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;

-- 0005's body.
CREATE OR REPLACE FUNCTION scale_refresh_loan_summary(p_loan_ids bigint[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE loans l
       SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
      FROM (
        SELECT i.id,
               COALESCE((SELECT sum(ps.principal_due - ps.principal_paid) FROM payment_schedules ps
                          WHERE ps.loan_id = i.id AND ps.paid_date IS NULL), 0) AS owed,
               (SELECT min(ps.due_date) FROM payment_schedules ps
                 WHERE ps.loan_id = i.id AND ps.paid_date IS NULL) AS oldest
          FROM unnest(p_loan_ids) AS i(id)
      ) s
     WHERE l.id = s.id
       AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest)
$$;

-- 0009's body (INSERT and DELETE of schedule rows).
CREATE OR REPLACE FUNCTION scale_schedule_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
          FROM (SELECT i.loan_id, coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed,
                       min(ps.due_date) AS oldest
                  FROM (SELECT DISTINCT o.loan_id FROM scale_old_rows o) i
                  LEFT JOIN payment_schedules ps ON ps.loan_id = i.loan_id AND ps.paid_date IS NULL
                 GROUP BY i.loan_id) s
         WHERE l.id = s.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    ELSE
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
          FROM (SELECT i.loan_id, coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed,
                       min(ps.due_date) AS oldest
                  FROM (SELECT DISTINCT n.loan_id FROM scale_new_rows n) i
                  LEFT JOIN payment_schedules ps ON ps.loan_id = i.loan_id AND ps.paid_date IS NULL
                 GROUP BY i.loan_id) s
         WHERE l.id = s.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    END IF;
    RETURN NULL;
END $$;

-- 0010's body (UPDATE of a schedule row that can move the summary).
CREATE OR REPLACE FUNCTION scale_schedule_row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE loans l
       SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest, updated_at = now()
      FROM (SELECT coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed, min(ps.due_date) AS oldest
              FROM payment_schedules ps WHERE ps.loan_id = NEW.loan_id AND ps.paid_date IS NULL) s
     WHERE l.id = NEW.loan_id
       AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    IF OLD.loan_id IS DISTINCT FROM NEW.loan_id THEN
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest, updated_at = now()
          FROM (SELECT coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed, min(ps.due_date) AS oldest
                  FROM payment_schedules ps WHERE ps.loan_id = OLD.loan_id AND ps.paid_date IS NULL) s
         WHERE l.id = OLD.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    END IF;
    RETURN NULL;
END $$;
