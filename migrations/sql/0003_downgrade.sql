-- Undo revision 0003: functions, views, the reminder day, the audit chain; 0001's append-only trigger back.
DROP FUNCTION IF EXISTS perform_database_maintenance();

DROP FUNCTION IF EXISTS verify_audit_log();
DROP FUNCTION IF EXISTS seal_audit_log();
DROP FUNCTION IF EXISTS audit_chain_genesis();
DROP FUNCTION IF EXISTS audit_log_hash(text, bigint, bigint, text, bigint, text, jsonb, jsonb, bigint, text,
                                       timestamptz, text);
DROP TABLE IF EXISTS audit_seals;
DROP TABLE IF EXISTS audit_seal_ticks;
DROP FUNCTION IF EXISTS audit_full_xid(bigint, bigint);
DROP INDEX IF EXISTS audit_logs_unsealed_idx;
ALTER TABLE audit_logs
    DROP COLUMN IF EXISTS chain_seq,
    DROP COLUMN IF EXISTS prev_hash,
    DROP COLUMN IF EXISTS row_hash,
    DROP COLUMN IF EXISTS sealed_at,
    DROP COLUMN IF EXISTS seal_note;
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'P0010';
END $$;

DROP FUNCTION IF EXISTS refresh_monthly_financial_summary();
DROP FUNCTION IF EXISTS send_overdue_loan_notifications(integer, bigint, date);
DROP FUNCTION IF EXISTS send_loan_reminders(bigint[], bigint, date);
DROP FUNCTION IF EXISTS reporting_queue_reminders(integer, bigint[], bigint, date);
DROP INDEX IF EXISTS sms_histories_reminder_key;
ALTER TABLE sms_histories DROP COLUMN IF EXISTS reminder_date;
DROP FUNCTION IF EXISTS mark_defaulted_loans(integer, bigint, date);
DROP FUNCTION IF EXISTS mark_defaulted_loans_unchecked(integer, date);
DROP FUNCTION IF EXISTS calculate_par(integer, date);
DROP MATERIALIZED VIEW IF EXISTS mvw_monthly_financial_summary;
DROP VIEW IF EXISTS vw_daily_transactions;
DROP VIEW IF EXISTS vw_overdue_loans;
DROP VIEW IF EXISTS vw_loan_summary;
DROP FUNCTION IF EXISTS overdue_loans_as_of(date);
DROP FUNCTION IF EXISTS loan_summary_as_of(date);
DROP FUNCTION IF EXISTS loan_days_past_due(bigint, date);
DROP FUNCTION IF EXISTS reporting_assert_actor(bigint, text[], text);
