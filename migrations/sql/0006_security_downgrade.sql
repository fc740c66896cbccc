-- Back to the checks of 0003 and 0004 (see 0005_security.sql for what they lacked).

CREATE OR REPLACE FUNCTION reporting_assert_actor(p_user_id bigint, p_roles text[], p_what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_role    text;
    v_active  boolean;
    v_name    text;
    v_session text := nullif(current_setting('astrofin.user_id', true), '');
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION '% needs the id of the staff member doing it (got none)', p_what
            USING ERRCODE = 'P0107';
    END IF;
    SELECT role, is_active, username INTO v_role, v_active, v_name FROM users WHERE id = p_user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % not found: % needs an existing staff account', p_user_id, p_what
            USING ERRCODE = 'P0101';
    END IF;
    IF v_session IS NOT NULL AND v_session IS DISTINCT FROM p_user_id::text THEN
        RAISE EXCEPTION 'the signed-in user (%) cannot act as user % (%)', v_session, p_user_id, v_name
            USING ERRCODE = 'P0106';
    END IF;
    IF NOT v_active THEN
        RAISE EXCEPTION 'user % is deactivated and cannot %', v_name, p_what USING ERRCODE = 'P0106';
    END IF;
    IF NOT (v_role = ANY (p_roles)) THEN
        RAISE EXCEPTION 'user % is a %; only % may %', v_name, v_role, array_to_string(p_roles, ' or '), p_what
            USING ERRCODE = 'P0106';
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION reporting_assert_actor(bigint, text[], text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION requeue_failed_sms(p_ids bigint[], p_requested_by bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_role    text;
    v_setting bigint := audit_current_user_id();
    v_count   integer;
BEGIN
    IF p_ids IS NULL OR p_requested_by IS NULL THEN
        RAISE EXCEPTION 'say which messages to retry and who asks for it' USING ERRCODE = 'P0107';
    END IF;
    IF v_setting IS NOT NULL AND v_setting <> p_requested_by THEN
        RAISE EXCEPTION 'you may only retry messages under your own name' USING ERRCODE = 'P0106';
    END IF;
    SELECT role INTO v_role FROM users WHERE id = p_requested_by AND is_active;
    IF v_role IS NULL THEN
        RAISE EXCEPTION 'user % does not exist or is inactive', p_requested_by USING ERRCODE = 'P0101';
    END IF;
    IF v_role <> 'admin' THEN
        RAISE EXCEPTION 'only an admin may retry SMS messages' USING ERRCODE = 'P0106';
    END IF;
    UPDATE sms_histories
       SET status = 'queued', error_message = NULL, attempts = 0, next_attempt_at = NULL,
           claimed_at = NULL, claimed_by = NULL, sending_at = NULL
     WHERE id = ANY (p_ids) AND status = 'failed';
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;

REVOKE EXECUTE ON FUNCTION requeue_failed_sms(bigint[], bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION requeue_failed_sms(bigint[], bigint) TO astrofin_admin;
