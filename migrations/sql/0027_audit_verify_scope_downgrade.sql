DROP FUNCTION verify_audit_log();
ALTER FUNCTION verify_audit_log_unscoped() RENAME TO verify_audit_log;
GRANT EXECUTE ON FUNCTION verify_audit_log() TO astrofin_admin;
