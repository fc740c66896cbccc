-- Back to 0008: 0001's row audit triggers on the ledger tables and 0005's summary trigger body.
ALTER TABLE audit_logs DROP CONSTRAINT IF EXISTS audit_logs_chain_seq_key;
DROP INDEX IF EXISTS audit_logs_chain_seq_key;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_chain_seq_key UNIQUE (chain_seq);
DROP INDEX IF EXISTS customers_name_rest_trgm_idx;
DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['transactions', 'payment_schedules', 'journal_entries', 'journal_entry_details']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', v_table || '_audit_insert', v_table);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', v_table || '_audit_update', v_table);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', v_table || '_audit_delete', v_table);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION audit_row_change()', v_table || '_audit', v_table);
    END LOOP;
END $$;
DROP FUNCTION IF EXISTS audit_statement_change();

CREATE OR REPLACE FUNCTION scale_schedule_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM scale_refresh_loan_summary(ARRAY(SELECT DISTINCT o.loan_id FROM scale_old_rows o));
    ELSE
        PERFORM scale_refresh_loan_summary(ARRAY(SELECT DISTINCT n.loan_id FROM scale_new_rows n));
    END IF;
    RETURN NULL;
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
