DROP FUNCTION verify_audit_log();
ALTER FUNCTION verify_audit_log_unscoped() RENAME TO verify_audit_log;
-- The grants as 0003 and 0014 left them, in their order.
REVOKE ALL ON FUNCTION verify_audit_log() FROM astrofin_definer;
GRANT EXECUTE ON FUNCTION verify_audit_log() TO astrofin_admin;
GRANT EXECUTE ON FUNCTION verify_audit_log() TO astrofin_definer;
