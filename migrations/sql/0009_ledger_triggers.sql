-- Payments at scale, part 2: the per-statement work a payment's triggers do.
--
-- 1. The loan's summary columns (0005) are refreshed by one statement per schedule statement, inside the
--    trigger, instead of a call to scale_refresh_loan_summary() with two correlated sub-queries per loan:
--    one scan of the loans' unpaid installments gives both columns. Same rule, same result; the update still
--    skips loans whose columns are already right.
-- 2. The ledger tables (transactions, payment_schedules, journal_entries, journal_entry_details) are audited
--    by statement-level triggers with transition tables: every row a statement wrote gets its audit row,
--    with exactly the content 0001's row trigger wrote (table, record id, action, old and new values as
--    JSON, the signed-in user, session/current role, clock_timestamp()), in one INSERT … SELECT per
--    statement instead of one trigger call and one INSERT per row. Sealing and verification (0003) read
--    audit_logs as before. Users, customers, loans, SMS and the chart of accounts keep 0001's row trigger
--    (the users' one redacts password hashes; loans' skips summary-only updates).
-- 3. The double-entry check (0002) runs once per journal entry at commit: a line of an entry written by the
--    same transaction leaves the check to that entry's own deferred trigger (which fires for every new
--    entry) instead of repeating it per line; a line added to an entry of an earlier transaction is checked
--    as before. Only the table owner and SECURITY DEFINER functions write journal rows, and those write the
--    entry before its lines.

CREATE OR REPLACE FUNCTION scale_schedule_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
          FROM (SELECT i.loan_id, coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed,
                       min(ps.due_date) AS oldest
                  FROM (SELECT DISTINCT o.loan_id FROM scale_old_rows o) i
                  LEFT JOIN payment_schedules ps ON ps.loan_id = i.loan_id AND ps.status <> 'paid'
                 GROUP BY i.loan_id) s
         WHERE l.id = s.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    ELSE
        UPDATE loans l
           SET principal_outstanding = s.owed, oldest_unpaid_due_date = s.oldest
          FROM (SELECT i.loan_id, coalesce(sum(ps.principal_due - ps.principal_paid), 0) AS owed,
                       min(ps.due_date) AS oldest
                  FROM (SELECT DISTINCT n.loan_id FROM scale_new_rows n) i
                  LEFT JOIN payment_schedules ps ON ps.loan_id = i.loan_id AND ps.status <> 'paid'
                 GROUP BY i.loan_id) s
         WHERE l.id = s.loan_id
           AND (l.principal_outstanding IS DISTINCT FROM s.owed OR l.oldest_unpaid_due_date IS DISTINCT FROM s.oldest);
    END IF;
    RETURN NULL;
END $$;

-- The audit rows of one statement. The rows of an UPDATE are paired by id (ids never change; a row whose id
-- did change would still be logged, as an UPDATE with only its old or only its new values).
CREATE FUNCTION audit_statement_change() RETURNS trigger
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
REVOKE EXECUTE ON FUNCTION audit_statement_change() FROM PUBLIC;

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['transactions', 'payment_schedules', 'journal_entries', 'journal_entry_details']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', v_table || '_audit', v_table);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS audit_new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION audit_statement_change()',
                       v_table || '_audit_insert', v_table);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS audit_old_rows
                        NEW TABLE AS audit_new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_statement_change()',
                       v_table || '_audit_update', v_table);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS audit_old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION audit_statement_change()',
                       v_table || '_audit_delete', v_table);
    END LOOP;
END $$;

-- The check of 0002, skipping the lines of this transaction's own entries.
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

-- Name search (db/repositories/customers.py): a fragment without a space lies wholly in the first name or
-- wholly in the surname. Surnames starting with it are a range of customers_last_name_idx; this index finds
-- the other matches (in the first name, or from the surname's second letter on), usually few.
CREATE INDEX customers_name_rest_trgm_idx ON customers
    USING gin ((first_name || ' ' || substr(last_name, 2)) gin_trgm_ops);

-- The chain's order number is unique among sealed rows; an unsealed row (chain_seq NULL) needs no entry in
-- that index, so a write no longer pays for one per audit row: the same guarantee, from a partial index
-- that sealing fills.
ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_chain_seq_key;
CREATE UNIQUE INDEX audit_logs_chain_seq_key ON audit_logs (chain_seq) WHERE chain_seq IS NOT NULL;
