-- SMS delivery: what a dispatcher needs to claim a message safely, retry it later, and record what the
-- gateway reported; and the admin's way to put failed messages back in the queue.
--
-- A message's life: queued → (claimed → sending) → sent → delivered, or failed at any step.
--   claimed_at/claimed_by  a dispatcher took the row in a short transaction (FOR UPDATE SKIP LOCKED);
--   sending_at             set just before the HTTP request, so a dispatcher that dies after it is known
--                          to have maybe sent the message (it is then failed with "delivery unknown",
--                          never sent again silently);
--   next_attempt_at        a retryable failure waits until then (exponential backoff);
--   delivered_at           the gateway's delivery report said delivered;
--   segments, encoding     what the message costs (GSM-7 or UCS-2 parts).
ALTER TABLE sms_histories
    ADD COLUMN claimed_at      timestamptz,
    ADD COLUMN claimed_by      text CHECK (claimed_by IS NULL OR length(claimed_by) BETWEEN 1 AND 200),
    ADD COLUMN sending_at      timestamptz,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN delivered_at    timestamptz,
    ADD COLUMN segments        integer CHECK (segments IS NULL OR segments >= 0),
    ADD COLUMN encoding        text CHECK (encoding IS NULL OR encoding IN ('GSM-7', 'UCS-2')),
    ADD CONSTRAINT sms_histories_claim_check
        CHECK (claimed_at IS NULL OR (status = 'queued' AND claimed_by IS NOT NULL)),
    ADD CONSTRAINT sms_histories_sending_check CHECK (sending_at IS NULL OR claimed_at IS NOT NULL);

-- The outbox screen lists one status at a time, newest first, keyset paged.
CREATE INDEX sms_histories_status_id_idx ON sms_histories (status, id);
-- The dispatcher's stale-claim sweep.
CREATE INDEX sms_histories_claimed_idx ON sms_histories (claimed_at) WHERE claimed_at IS NOT NULL;
-- Delivery reports find their row by the gateway's message id.
CREATE INDEX sms_histories_provider_message_idx ON sms_histories (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- The admin puts failed messages back in the queue (a person decided: e.g. after fixing the API key, or
-- after checking at the gateway that a "delivery unknown" message did not go out). Returns how many rows
-- were requeued; rows that are not failed are left alone.
CREATE FUNCTION requeue_failed_sms(p_ids bigint[], p_requested_by bigint) RETURNS integer
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
