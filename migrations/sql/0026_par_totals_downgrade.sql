-- Back to PAR summed over the loans themselves (0014 / 0019).
DROP TRIGGER loans_track_arrears ON loans;
DROP TRIGGER loans_track_arrears_update ON loans;
DROP FUNCTION loans_track_arrears();
DROP FUNCTION loan_arrears_fold();
DROP FUNCTION loan_arrears_rebuild();
DROP FUNCTION loan_arrears_drift();

CREATE OR REPLACE FUNCTION calculate_par(p_days_threshold integer, p_as_of date DEFAULT NULL::date)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
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
    SELECT sum(l.principal_outstanding),
           sum(l.principal_outstanding) FILTER (WHERE l.oldest_unpaid_due_date < v_as_of - p_days_threshold)
      INTO v_total, v_at_risk
      FROM loans l
     WHERE l.status IN ('active', 'defaulted');
    IF v_total IS NULL OR v_total <= 0 THEN
        RETURN 0;
    END IF;
    RETURN round(100 * COALESCE(v_at_risk, 0) / v_total, 2);
END $function$;
CREATE OR REPLACE FUNCTION calculate_par(p_days_threshold integer, p_as_of date, p_branch_id bigint, p_with_children boolean DEFAULT true)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_as_of   date := COALESCE(p_as_of, current_date);
    v_ids     bigint[];
    v_total   numeric;
    v_at_risk numeric;
BEGIN
    IF p_days_threshold IS NULL THEN
        RAISE EXCEPTION 'PAR needs a number of days (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF p_days_threshold < 0 THEN
        RAISE EXCEPTION 'PAR days must be 0 or more, not %', p_days_threshold USING ERRCODE = 'P0107';
    END IF;
    IF p_branch_id IS NULL THEN
        RETURN calculate_par(p_days_threshold, v_as_of);
    END IF;
    v_ids := CASE WHEN coalesce(p_with_children, true) THEN branch_subtree(p_branch_id) ELSE ARRAY[p_branch_id] END;
    SELECT sum(l.principal_outstanding),
           sum(l.principal_outstanding) FILTER (WHERE l.oldest_unpaid_due_date < v_as_of - p_days_threshold)
      INTO v_total, v_at_risk
      FROM loans l
     WHERE l.status IN ('active', 'defaulted') AND l.branch_id = ANY (v_ids);
    IF v_total IS NULL OR v_total <= 0 THEN
        RETURN 0;
    END IF;
    RETURN round(100 * COALESCE(v_at_risk, 0) / v_total, 2);
END $function$;
ALTER FUNCTION calculate_par(integer, date) OWNER TO CURRENT_USER;
ALTER FUNCTION calculate_par(integer, date, bigint, boolean) OWNER TO CURRENT_USER;
GRANT EXECUTE ON FUNCTION calculate_par(integer, date), calculate_par(integer, date, bigint, boolean)
    TO astrofin_definer;
DROP FUNCTION par_percent(integer, date, bigint[]);
DROP TABLE loan_arrears_changes;
DROP TABLE loan_arrears_totals;
