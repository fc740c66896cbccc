-- Undo revision 0005: the 0003 bodies of calculate_par and overdue_loans_as_of back, then the triggers,
-- the index and the summary columns go.
CREATE OR REPLACE FUNCTION calculate_par(p_days_threshold integer, p_as_of date DEFAULT NULL) RETURNS numeric(5,2)
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

DROP TRIGGER IF EXISTS payment_schedules_summary_insert ON payment_schedules;
DROP TRIGGER IF EXISTS payment_schedules_summary_update ON payment_schedules;
DROP TRIGGER IF EXISTS payment_schedules_summary_delete ON payment_schedules;
DROP FUNCTION IF EXISTS scale_schedule_changed();
DROP TRIGGER IF EXISTS loans_audit_update ON loans;
DROP TRIGGER IF EXISTS loans_audit ON loans;
CREATE TRIGGER loans_audit AFTER INSERT OR UPDATE OR DELETE ON loans
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
DROP FUNCTION IF EXISTS scale_refresh_loan_summary(bigint[]);
DROP INDEX IF EXISTS loans_arrears_idx;
ALTER TABLE loans DROP COLUMN IF EXISTS principal_outstanding, DROP COLUMN IF EXISTS oldest_unpaid_due_date;
