-- Scale: summary columns on loans kept in the same transaction as the schedule they summarise, the
-- indexes the hot queries need at a million customers, and PAR and the overdue list read from them.
--
-- loans.principal_outstanding   = sum(principal_due - principal_paid) over the loan's schedule
-- loans.oldest_unpaid_due_date  = min(due_date) of the installments that still owe money (status <> 'paid')
--
-- Every writer of payment_schedules (disburse_loan → generate_payment_schedule, record_loan_payment,
-- ledger_recompute_schedule via reverse_transaction) changes rows with INSERT/UPDATE/DELETE statements;
-- statement-level triggers with transition tables recompute the two columns of the loans touched, once per
-- statement, inside the same transaction. So no function of 0002/0003 had to change to keep them, and a
-- future writer cannot forget them. A write-off leaves the schedule as it is: the columns keep the
-- principal that was written off (PAR and the overdue list read active and defaulted loans only).
--
-- The bulk loader (db/scale_seed.py) runs with session_replication_role = replica, where these triggers do
-- not fire; it writes the two columns itself and checks them against the schedule at the end.

ALTER TABLE loans
    ADD COLUMN principal_outstanding numeric(14,2) NOT NULL DEFAULT 0,
    ADD COLUMN oldest_unpaid_due_date date;

CREATE FUNCTION scale_refresh_loan_summary(p_loan_ids bigint[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE loans l
       SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
      FROM (
        SELECT i.id,
               COALESCE((SELECT sum(ps.principal_due - ps.principal_paid) FROM payment_schedules ps
                          WHERE ps.loan_id = i.id AND ps.status <> 'paid'), 0) AS owed,
               (SELECT min(ps.due_date) FROM payment_schedules ps
                 WHERE ps.loan_id = i.id AND ps.status <> 'paid') AS oldest
          FROM unnest(p_loan_ids) AS i(id)
      ) s
     WHERE l.id = s.id
       AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest)
$$;
REVOKE EXECUTE ON FUNCTION scale_refresh_loan_summary(bigint[]) FROM PUBLIC;

CREATE FUNCTION scale_schedule_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM scale_refresh_loan_summary(ARRAY(SELECT DISTINCT o.loan_id FROM scale_old_rows o));
    ELSE
        PERFORM scale_refresh_loan_summary(ARRAY(SELECT DISTINCT n.loan_id FROM scale_new_rows n));
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION scale_schedule_changed() FROM PUBLIC;

CREATE TRIGGER payment_schedules_summary_insert AFTER INSERT ON payment_schedules
    REFERENCING NEW TABLE AS scale_new_rows FOR EACH STATEMENT EXECUTE FUNCTION scale_schedule_changed();
CREATE TRIGGER payment_schedules_summary_update AFTER UPDATE ON payment_schedules
    REFERENCING NEW TABLE AS scale_new_rows FOR EACH STATEMENT EXECUTE FUNCTION scale_schedule_changed();
CREATE TRIGGER payment_schedules_summary_delete AFTER DELETE ON payment_schedules
    REFERENCING OLD TABLE AS scale_old_rows FOR EACH STATEMENT EXECUTE FUNCTION scale_schedule_changed();

-- The summary columns are derived from the schedule, which is audited row by row; an update of loans that
-- changes nothing but them (and the updated_at stamp) writes no audit row of its own.
DROP TRIGGER loans_audit ON loans;
CREATE TRIGGER loans_audit AFTER INSERT OR DELETE ON loans
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER loans_audit_update AFTER UPDATE ON loans
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - ARRAY['principal_outstanding', 'oldest_unpaid_due_date', 'updated_at'])
          IS DISTINCT FROM (to_jsonb(NEW) - ARRAY['principal_outstanding', 'oldest_unpaid_due_date', 'updated_at']))
    EXECUTE FUNCTION audit_row_change();

-- Existing books: fill the columns once.
UPDATE loans l
   SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
  FROM (SELECT ps.loan_id,
               sum(ps.principal_due - ps.principal_paid) AS owed,
               min(ps.due_date) FILTER (WHERE ps.status <> 'paid') AS oldest
          FROM payment_schedules ps GROUP BY ps.loan_id) s
 WHERE l.id = s.loan_id;

-- The loans that can be in arrears, in overdue order (oldest unpaid installment first = most days past
-- due first), carrying what PAR sums: calculate_par is an index-only scan, the overdue queue's first and
-- deep pages are a range of this index.
CREATE INDEX loans_arrears_idx ON loans (oldest_unpaid_due_date, id) INCLUDE (principal_outstanding, loan_officer_id)
    WHERE status IN ('active', 'defaulted');
-- Exact-key search: the loan number is already unique (loans_loan_number_key); customers by phone, national
-- ID and number are indexed in 0001. Name search: the trigram index of 0001 and the keyset index.

-- PAR by docs/database.md, from the summary columns: DPD > N <=> the oldest installment still owing fell due
-- before as_of - N (N >= 0). Same result as the 0003 body, which aggregated the unpaid schedule rows.
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
    SELECT sum(l.principal_outstanding),
           sum(l.principal_outstanding) FILTER (WHERE l.oldest_unpaid_due_date < v_as_of - p_days_threshold)
      INTO v_total, v_at_risk
      FROM loans l
     WHERE l.status IN ('active', 'defaulted');
    IF v_total IS NULL OR v_total <= 0 THEN
        RETURN 0;
    END IF;
    RETURN round(100 * COALESCE(v_at_risk, 0) / v_total, 2);
END $$;

-- The overdue list, driven by loans_arrears_idx instead of every overdue installment; the per-loan sums
-- are computed only for the rows a page returns (the function is inlined into the caller's query).
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
        WHERE ps.loan_id = l.id AND ps.status <> 'paid'
    ) s
    WHERE l.status IN ('active', 'defaulted')
      AND l.oldest_unpaid_due_date < COALESCE(p_as_of, current_date)
$$;
