-- A tamper-evident audit log without a global lock on every write (docs/database.md "Audit").
--
-- Writers are unchanged: the 0001 trigger inserts audit rows unsealed (chain columns NULL) and never waits
-- for anyone. Sealing is a separate step, seal_audit_log(), run by perform_database_maintenance() and by
-- `astrofin audit verify`; only sealers take the advisory lock, one at a time. A sealer gives every
-- committed unsealed row, in id order, the next chain_seq and
--     row_hash = sha256(prev_hash || canonical text of the row)
-- where prev_hash is the row_hash of chain_seq − 1 (64 zeros for the first). The order of the chain is
-- the order of sealing, not of ids: a transaction that commits after a seal carries a lower id than rows
-- already sealed, and the next seal appends it. No row is skipped for ever, and nothing needs
-- consecutive ids.
--
-- Rows written since the last seal are not yet covered: verify reports them as "N rows not yet sealed"
-- (it seals first, so N counts only rows committed while it ran) and the next seal chains them.
--
-- What verify finds: an edited sealed row (its hash no longer matches), a deleted one (a gap in chain_seq,
-- or rows missing after the last recorded seal), and an inserted one: a row forged with chain columns
-- (hash mismatch, or chained beyond every recorded seal) or a plain row slipped in with an id from before
-- a seal by a transaction that began writing after that seal (the next seal chains it with a seal_note
-- that verify reports). A genuine late row is told apart by its transaction id: its transaction wrote
-- the audited row (and so got its id) before the audit row took its id, hence before the seal read the
-- id sequence, hence before the seal drew a fresh transaction id of its own (the seal's xid_bound). A superuser who
-- rewrites the whole chain from the edited row on defeats any in-database check; comparing the head hash
-- with a copy kept elsewhere finds that too.
--
-- Requirement: the id identity keeps CACHE 1 (the default), so ids are handed out in time order.

ALTER TABLE audit_logs
    ADD COLUMN chain_seq bigint UNIQUE,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text,
    ADD COLUMN sealed_at timestamptz,
    ADD COLUMN seal_note text;
CREATE INDEX audit_logs_unsealed_idx ON audit_logs (id) WHERE chain_seq IS NULL;

-- One row per seal that chained rows: its range, the id horizon (last id handed out when it began) and
-- xid_bound, a transaction id drawn just after reading the horizon: every transaction that wrote a row with
-- an id up to the horizon has a lower id.
CREATE TABLE audit_seals (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    first_seq     bigint NOT NULL,
    last_seq      bigint NOT NULL,
    rows_sealed   integer NOT NULL CHECK (rows_sealed > 0),
    id_horizon    bigint,
    xid_bound     bigint NOT NULL,
    head_hash     text NOT NULL,
    CHECK (last_seq - first_seq + 1 = rows_sealed)
);
REVOKE ALL ON audit_seals FROM PUBLIC;
GRANT SELECT ON audit_seals TO astrofin_admin;

-- Append-only, as in 0001, with one exception: sealing may set the chain columns of a row not yet sealed,
-- once; every other column stays as written, and a sealed row can no longer change at all.
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c_chain CONSTANT text[] := ARRAY['chain_seq', 'prev_hash', 'row_hash', 'sealed_at', 'seal_note'];
BEGIN
    -- Nested, so the fields of OLD and NEW are only read for audit_logs.
    IF TG_TABLE_NAME = 'audit_logs' AND TG_OP = 'UPDATE' THEN
        IF OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL AND OLD.row_hash IS NULL
           AND OLD.sealed_at IS NULL AND OLD.seal_note IS NULL
           AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.row_hash IS NOT NULL
           AND NEW.sealed_at IS NOT NULL
           AND (to_jsonb(NEW) - c_chain) = (to_jsonb(OLD) - c_chain) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'P0010';
END $$;

CREATE TRIGGER audit_seals_no_update BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

-- The hash of one row: sha256 over the previous hash, a newline, and a JSON array of the row's content
-- (id, chain_seq, table_name, record_id, action, old_values, new_values, changed_by, db_role, changed_at in
-- UTC to the microsecond, seal_note). jsonb text is canonical, so the same content always hashes the same.
CREATE FUNCTION audit_log_hash(p_prev_hash text, p_id bigint, p_chain_seq bigint, p_table_name text,
                               p_record_id bigint, p_action text, p_old_values jsonb, p_new_values jsonb,
                               p_changed_by bigint, p_db_role text, p_changed_at timestamptz,
                               p_seal_note text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(
        COALESCE(p_prev_hash, '') || E'\n' ||
        jsonb_build_array(p_id, p_chain_seq, p_table_name, p_record_id, p_action, p_old_values, p_new_values,
                          p_changed_by, p_db_role,
                          to_char(p_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                          p_seal_note)::text,
        'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_chain_genesis() RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('0', 64) $$;

-- A 32-bit transaction id (xmin) as a full 64-bit one, taking the value nearest to p_reference.
CREATE FUNCTION audit_full_xid(p_xid32 bigint, p_reference bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_reference + CASE WHEN d >= 2147483648 THEN d - 4294967296 ELSE d END
    FROM (SELECT ((p_xid32 - p_reference % 4294967296) % 4294967296 + 4294967296) % 4294967296 AS d) x
$$;

-- Never holds a row: a write to it in a rolled-back subtransaction draws a fresh transaction id.
CREATE UNLOGGED TABLE audit_seal_ticks ();
REVOKE ALL ON audit_seal_ticks FROM PUBLIC;

-- Seals every committed unsealed row; returns how many it sealed.
CREATE FUNCTION seal_audit_log() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_horizon   bigint;
    v_bound     bigint;
    v_now_xid   bigint;
    v_last      audit_seals;
    v_seq       bigint;
    v_first     bigint;
    v_prev      text;
    v_hash      text;
    v_note      text;
    v_row_xid   bigint;
    v_count     integer := 0;
    v_ids       bigint[] := '{}';
    v_seqs      bigint[] := '{}';
    v_prevs     text[] := '{}';
    v_hashes    text[] := '{}';
    v_notes     text[] := '{}';
    r           record;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the audit log is sealed in a READ COMMITTED transaction, not %',
            current_setting('transaction_isolation') USING ERRCODE = 'P0107';
    END IF;
    -- Only sealers wait here; writers never take this lock.
    PERFORM pg_advisory_xact_lock(hashtext('astrofin.seal_audit_log'));

    -- Horizon first, then a fresh transaction id (a subtransaction's; the top-level one may be older).
    v_horizon := pg_sequence_last_value(pg_get_serial_sequence('public.audit_logs', 'id')::regclass);
    v_now_xid := pg_current_xact_id()::text::bigint;
    BEGIN
        INSERT INTO audit_seal_ticks DEFAULT VALUES RETURNING xmin::text::bigint INTO v_bound;
        RAISE EXCEPTION USING ERRCODE = 'P0011';
    EXCEPTION WHEN SQLSTATE 'P0011' THEN
        v_bound := audit_full_xid(v_bound, v_now_xid);
    END;

    SELECT * INTO v_last FROM audit_seals ORDER BY id DESC LIMIT 1;
    SELECT a.chain_seq, a.row_hash INTO v_seq, v_prev
    FROM audit_logs a WHERE a.chain_seq IS NOT NULL ORDER BY a.chain_seq DESC LIMIT 1;
    v_seq := COALESCE(v_seq, 0);
    v_prev := COALESCE(v_prev, audit_chain_genesis());
    v_first := v_seq + 1;

    FOR r IN
        SELECT a.id, a.table_name, a.record_id, a.action, a.old_values, a.new_values, a.changed_by, a.db_role,
               a.changed_at, a.xmin::text::bigint AS row_xid32
        FROM audit_logs a
        WHERE a.chain_seq IS NULL
        ORDER BY a.id
    LOOP
        v_note := NULL;
        IF v_last.id IS NOT NULL AND v_last.id_horizon IS NOT NULL AND r.id <= v_last.id_horizon THEN
            v_row_xid := audit_full_xid(r.row_xid32, v_now_xid);
            IF v_row_xid > v_last.xid_bound THEN
                v_note := format('inserted: id %s is from before the seal of %s but the row was written after it',
                                 r.id, to_char(v_last.sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'));
            END IF;
        END IF;
        v_seq := v_seq + 1;
        v_hash := audit_log_hash(v_prev, r.id, v_seq, r.table_name, r.record_id, r.action, r.old_values,
                                 r.new_values, r.changed_by, r.db_role, r.changed_at, v_note);
        v_ids := v_ids || r.id;
        v_seqs := v_seqs || v_seq;
        v_prevs := v_prevs || v_prev;
        v_hashes := v_hashes || v_hash;
        v_notes := v_notes || v_note;
        v_prev := v_hash;
        v_count := v_count + 1;
    END LOOP;
    -- The hashes are a sequence; writing them is one statement.
    UPDATE audit_logs a
    SET chain_seq = u.seq, prev_hash = u.prev, row_hash = u.hash, sealed_at = now(), seal_note = u.note
    FROM unnest(v_ids, v_seqs, v_prevs, v_hashes, v_notes) AS u(id, seq, prev, hash, note)
    WHERE a.id = u.id;

    IF v_count > 0 THEN
        INSERT INTO audit_seals (first_seq, last_seq, rows_sealed, id_horizon, xid_bound, head_hash)
        VALUES (v_first, v_seq, v_count, v_horizon, v_bound, v_prev);
    END IF;
    RETURN v_count;
END $$;

-- Checks the chain in chain_seq order and reports the first problem; reads, never writes.
CREATE FUNCTION verify_audit_log()
RETURNS TABLE (rows_checked bigint, unsealed bigint, broken_id bigint, problem_kind text, problem text,
               head_seq bigint, head_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_sealed_to bigint;
    v_last      audit_seals;
    v_tail      record;
    v_now_xid   bigint := pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
BEGIN
    broken_id := NULL; problem_kind := NULL; problem := NULL;
    SELECT count(*), max(a.chain_seq) INTO rows_checked, head_seq FROM audit_logs a WHERE a.chain_seq IS NOT NULL;
    SELECT a.row_hash INTO head_hash FROM audit_logs a WHERE a.chain_seq = head_seq;
    SELECT count(*) INTO unsealed FROM audit_logs a WHERE a.chain_seq IS NULL;
    SELECT max(s.last_seq) INTO v_sealed_to FROM audit_seals s;
    SELECT * INTO v_last FROM audit_seals s ORDER BY s.id DESC LIMIT 1;

    SELECT c.id, c.kind, c.why INTO broken_id, problem_kind, problem
    FROM (
        SELECT w.id, w.chain_seq,
               CASE
                   WHEN w.chain_seq <> COALESCE(w.before_seq, 0) + 1 THEN 'deleted'
                   WHEN w.prev_hash IS DISTINCT FROM COALESCE(w.before_hash, audit_chain_genesis()) THEN 'deleted'
                   WHEN w.row_hash IS DISTINCT FROM w.expected OR w.sealed_at IS NULL THEN 'edited'
                   WHEN w.chain_seq > COALESCE(v_sealed_to, 0) THEN 'inserted'
                   WHEN w.seal_note IS NOT NULL THEN 'inserted'
               END AS kind,
               CASE
                   WHEN w.chain_seq <> COALESCE(w.before_seq, 0) + 1 THEN
                       format('sealed rows %s to %s of the chain are missing just before it (deleted)',
                              COALESCE(w.before_seq, 0) + 1, w.chain_seq - 1)
                   WHEN w.prev_hash IS DISTINCT FROM COALESCE(w.before_hash, audit_chain_genesis()) THEN
                       'its link to the row before it is broken (a row before it was deleted or replaced)'
                   WHEN w.row_hash IS DISTINCT FROM w.expected OR w.sealed_at IS NULL THEN
                       'its content no longer matches its sealed hash (edited after sealing, or forged)'
                   WHEN w.chain_seq > COALESCE(v_sealed_to, 0) THEN
                       'it is chained beyond the last recorded seal (forged outside sealing)'
                   WHEN w.seal_note IS NOT NULL THEN w.seal_note
               END AS why
        FROM (
            SELECT a.id, a.chain_seq, a.prev_hash, a.row_hash, a.sealed_at, a.seal_note,
                   lag(a.chain_seq) OVER (ORDER BY a.chain_seq) AS before_seq,
                   lag(a.row_hash) OVER (ORDER BY a.chain_seq) AS before_hash,
                   audit_log_hash(a.prev_hash, a.id, a.chain_seq, a.table_name, a.record_id, a.action,
                                  a.old_values, a.new_values, a.changed_by, a.db_role, a.changed_at,
                                  a.seal_note) AS expected
            FROM audit_logs a
            WHERE a.chain_seq IS NOT NULL
        ) w
    ) c
    WHERE c.kind IS NOT NULL
    ORDER BY c.chain_seq
    LIMIT 1;
    IF broken_id IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    -- Sealed rows missing at the end of the chain.
    IF v_sealed_to IS NOT NULL AND COALESCE(head_seq, 0) < v_sealed_to THEN
        broken_id := (SELECT a.id FROM audit_logs a WHERE a.chain_seq = head_seq);
        problem_kind := 'deleted';
        problem := format('sealed rows %s to %s at the end of the chain are missing (deleted)',
                          COALESCE(head_seq, 0) + 1, v_sealed_to);
        RETURN NEXT;
        RETURN;
    END IF;

    -- Rows that carry chain columns without being chained, or that slipped in under a seal's horizon.
    SELECT a.id INTO broken_id FROM audit_logs a
    WHERE a.chain_seq IS NULL
      AND (a.prev_hash IS NOT NULL OR a.row_hash IS NOT NULL OR a.sealed_at IS NOT NULL OR a.seal_note IS NOT NULL)
    ORDER BY a.id LIMIT 1;
    IF broken_id IS NOT NULL THEN
        problem_kind := 'inserted';
        problem := 'it carries chain columns but is not in the chain (forged outside sealing)';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_last.id IS NOT NULL AND v_last.id_horizon IS NOT NULL THEN
        SELECT a.id INTO broken_id FROM audit_logs a
        WHERE a.chain_seq IS NULL AND a.id <= v_last.id_horizon
          AND audit_full_xid(a.xmin::text::bigint, v_now_xid) > v_last.xid_bound
        ORDER BY a.id LIMIT 1;
        IF broken_id IS NOT NULL THEN
            problem_kind := 'inserted';
            problem := format('inserted: id %s is from before the seal of %s but the row was written after it',
                              broken_id, to_char(v_last.sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'));
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    RETURN NEXT;
END $$;

REVOKE EXECUTE ON FUNCTION audit_log_hash(text, bigint, bigint, text, bigint, text, jsonb, jsonb, bigint, text,
                                          timestamptz, text),
    audit_chain_genesis(), audit_full_xid(bigint, bigint), seal_audit_log(), verify_audit_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_log_hash(text, bigint, bigint, text, bigint, text, jsonb, jsonb, bigint, text,
                                         timestamptz, text),
    audit_chain_genesis(), audit_full_xid(bigint, bigint), seal_audit_log(), verify_audit_log() TO astrofin_admin;
