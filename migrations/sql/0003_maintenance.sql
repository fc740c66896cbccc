-- Routine maintenance in one call (docs/database.md "Functions"): ANALYZE the core tables, refresh the monthly summary,
-- mark defaulted loans (threshold from the setting astrofin.default_threshold_days, default 90), seal the
-- audit log, and report PAR30, table sizes and what was done. VACUUM cannot run inside a function; the
-- maintenance script runs it separately.
CREATE FUNCTION perform_database_maintenance() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c_tables  CONSTANT text[] := ARRAY['users', 'customers', 'loans', 'transactions', 'payment_schedules',
                                       'sms_templates', 'sms_histories', 'journal_entries',
                                       'journal_entry_details', 'chart_of_accounts', 'audit_logs'];
    v_started   timestamptz := clock_timestamp();
    v_session   text := nullif(current_setting('astrofin.user_id', true), '');
    v_raw       text := nullif(btrim(current_setting('astrofin.default_threshold_days', true)), '');
    v_threshold integer;
    v_role      text;
    v_table     text;
    v_defaulted integer;
    v_sealed    integer;
    v_sizes     jsonb;
    v_rows      jsonb;
BEGIN
    -- Run by an administrator from the application, or by the superuser maintenance script.
    IF v_session IS NOT NULL THEN
        SELECT role INTO v_role FROM users WHERE id::text = v_session AND is_active;
        IF v_role IS DISTINCT FROM 'admin' THEN
            RAISE EXCEPTION 'database maintenance is for administrators; the signed-in user (%) is not one',
                v_session USING ERRCODE = 'P0106';
        END IF;
    END IF;
    IF v_raw IS NULL THEN
        v_threshold := 90;
    ELSIF v_raw ~ '^[0-9]{1,5}$' THEN
        v_threshold := v_raw::integer;
    ELSE
        RAISE EXCEPTION 'the setting astrofin.default_threshold_days must be a whole number of days, not %',
            quote_literal(v_raw) USING ERRCODE = 'P0107';
    END IF;

    -- Table names come from the fixed list above.
    FOREACH v_table IN ARRAY c_tables LOOP
        EXECUTE format('ANALYZE %I', v_table);
    END LOOP;
    PERFORM refresh_monthly_financial_summary();
    v_defaulted := mark_defaulted_loans_unchecked(v_threshold, current_date);
    v_sealed := seal_audit_log();

    SELECT jsonb_object_agg(c.relname, pg_total_relation_size(c.oid) ORDER BY c.relname),
           jsonb_object_agg(c.relname, GREATEST(c.reltuples, 0)::bigint ORDER BY c.relname)
    INTO v_sizes, v_rows
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relname = ANY (c_tables || ARRAY['mvw_monthly_financial_summary', 'audit_seals']);

    RETURN jsonb_build_object(
        'started_at', v_started,
        'finished_at', clock_timestamp(),
        'duration_ms', round(extract(epoch FROM clock_timestamp() - v_started) * 1000, 1),
        'analyzed_tables', to_jsonb(c_tables),
        'monthly_summary_refreshed', true,
        'default_threshold_days', v_threshold,
        'loans_marked_defaulted', v_defaulted,
        'audit_rows_sealed', v_sealed,
        'audit_rows_unsealed', (SELECT count(*) FROM audit_logs WHERE chain_seq IS NULL),
        'par30', calculate_par(30, current_date),
        'table_sizes_bytes', v_sizes,
        'table_rows_estimate', v_rows,
        'database_size_bytes', pg_database_size(current_database())
    );
END $$;

REVOKE EXECUTE ON FUNCTION perform_database_maintenance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION perform_database_maintenance() TO astrofin_admin;
