-- Verifying the audit chain reads every branch's audit rows. Under the branches' row-level security a branch's
-- administrator, or a login with nobody signed in, sees only some of them (or none), and the check reported the
-- rows it could not see as deleted: a broken chain where nothing was touched. The check is now for whoever sees
-- every branch (a head-office administrator, or the owner's maintenance script); anyone else is told so.
ALTER FUNCTION verify_audit_log() RENAME TO verify_audit_log_unscoped;
REVOKE ALL ON FUNCTION verify_audit_log_unscoped() FROM PUBLIC, astrofin_admin;

CREATE FUNCTION verify_audit_log()
RETURNS TABLE (rows_checked bigint, unsealed bigint, broken_id bigint, problem_kind text, problem text,
               head_seq bigint, head_hash text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT astrofin_sees_head_office() THEN
        RAISE EXCEPTION 'the audit chain runs through every branch''s rows: a head-office administrator verifies it '
                        '(or the database owner, with astrofin audit verify)' USING ERRCODE = 'P0106';
    END IF;
    RETURN QUERY SELECT * FROM verify_audit_log_unscoped();
END $$;
REVOKE ALL ON FUNCTION verify_audit_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION verify_audit_log() TO astrofin_admin;
