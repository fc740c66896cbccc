-- Audit: one audit_logs row per changed row of every other table; audit_logs itself is append-only.

CREATE FUNCTION audit_current_user_id() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_setting text := nullif(current_setting('astrofin.user_id', true), '');
BEGIN
    IF v_setting IS NULL OR v_setting !~ '^[0-9]{1,18}$' THEN
        RETURN NULL;
    END IF;
    RETURN v_setting::bigint;
END $$;

CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        v_new := to_jsonb(NEW);
    END IF;
    -- A password hash never reaches the log; a changed one is recorded as changed.
    IF TG_TABLE_NAME = 'users' THEN
        IF v_new IS NOT NULL AND v_old IS NOT NULL AND v_new->>'password_hash' IS DISTINCT FROM v_old->>'password_hash' THEN
            v_new := v_new || '{"password_hash": "(changed)"}'::jsonb;
            v_old := v_old || '{"password_hash": "(redacted)"}'::jsonb;
        ELSE
            IF v_new IS NOT NULL THEN v_new := v_new || '{"password_hash": "(redacted)"}'::jsonb; END IF;
            IF v_old IS NOT NULL THEN v_old := v_old || '{"password_hash": "(redacted)"}'::jsonb; END IF;
        END IF;
    END IF;
    INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_by, db_role)
    VALUES (TG_TABLE_NAME, COALESCE(v_new->>'id', v_old->>'id')::bigint, TG_OP, v_old, v_new,
            audit_current_user_id(), session_user || '/' || current_user);
    RETURN NULL;
END $$;

CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'P0010';
END $$;

CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['users', 'customers', 'loans', 'transactions', 'payment_schedules',
                                   'sms_templates', 'sms_histories', 'journal_entries',
                                   'journal_entry_details', 'chart_of_accounts']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION audit_row_change()', v_table || '_audit', v_table);
    END LOOP;
END $$;
