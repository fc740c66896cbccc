-- PAR from running totals. A head-office PAR summed every active loan (764,459 at 1,000,000 customers): an
-- index-only scan of loans_branch_arrears_idx while loans' visibility map was current (120-160 ms), but every
-- payment updates its loan's row and clears its page's all-visible bit, so after a day of payments the same scan read
-- most loans' heap rows (589,434 heap fetches: 600 ms). PAR now adds up running totals by branch and oldest unpaid
-- due date: a few thousand rows whatever the size of the book.
--
-- loan_arrears_totals holds, for each branch and oldest unpaid due date ('infinity' when nothing is unpaid), the
-- principal outstanding and the number of its active and defaulted loans. A trigger on loans appends each change of
-- those figures to loan_arrears_changes (appended, never updated: payments of one branch do not queue on a total),
-- and loan_arrears_fold(), run by the maintenance job, moves the changes into the totals. PAR reads both: the totals
-- plus the changes since the last fold are always exactly the loans' figures (loan_arrears_drift() says where not).
CREATE TABLE loan_arrears_totals (
    branch_id              bigint        NOT NULL REFERENCES branches (id),
    oldest_unpaid_due_date date          NOT NULL,
    -- a sum over many loans: wider than one loan's NUMERIC(14,2), so that no total can refuse a payment
    principal_outstanding  numeric(18,2) NOT NULL,
    loans                  integer       NOT NULL,
    PRIMARY KEY (branch_id, oldest_unpaid_due_date)
);

CREATE TABLE loan_arrears_changes (
    branch_id              bigint        NOT NULL,
    oldest_unpaid_due_date date          NOT NULL,
    principal_outstanding  numeric(18,2) NOT NULL,
    loans                  integer       NOT NULL
);

-- Only the functions below read them: staff see PAR through calculate_par, which adds up their own branches.
ALTER TABLE loan_arrears_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY loan_arrears_totals_scope ON loan_arrears_totals FOR SELECT
    USING (branch_id = ANY ((SELECT astrofin_branch_scope())::bigint[]));
ALTER TABLE loan_arrears_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY loan_arrears_changes_scope ON loan_arrears_changes FOR SELECT
    USING (branch_id = ANY ((SELECT astrofin_branch_scope())::bigint[]));
GRANT SELECT ON loan_arrears_totals, loan_arrears_changes TO astrofin_definer;

-- A loan counts while it is active or defaulted. The trigger runs as the owner (no policy), whoever changes the loan:
-- a transfer moves a loan's figures out of one branch and into another.
CREATE FUNCTION loans_track_arrears() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_was   boolean := TG_OP <> 'INSERT' AND OLD.status IN ('active', 'defaulted');
    v_is    boolean := TG_OP <> 'DELETE' AND NEW.status IN ('active', 'defaulted');
    v_old   date;
    v_new   date;
BEGIN
    IF v_was THEN
        v_old := COALESCE(OLD.oldest_unpaid_due_date, 'infinity');
    END IF;
    IF v_is THEN
        v_new := COALESCE(NEW.oldest_unpaid_due_date, 'infinity');
    END IF;
    IF v_was AND v_is AND OLD.branch_id = NEW.branch_id AND v_old = v_new THEN
        -- A payment that leaves the oldest unpaid installment where it was: one change, of the principal only.
        IF NEW.principal_outstanding <> OLD.principal_outstanding THEN
            INSERT INTO loan_arrears_changes
            VALUES (NEW.branch_id, v_new, NEW.principal_outstanding - OLD.principal_outstanding, 0);
        END IF;
    ELSIF v_was AND v_is THEN
        INSERT INTO loan_arrears_changes
        VALUES (OLD.branch_id, v_old, -OLD.principal_outstanding, -1),
               (NEW.branch_id, v_new, NEW.principal_outstanding, 1);
    ELSIF v_was THEN
        INSERT INTO loan_arrears_changes VALUES (OLD.branch_id, v_old, -OLD.principal_outstanding, -1);
    ELSIF v_is THEN
        INSERT INTO loan_arrears_changes VALUES (NEW.branch_id, v_new, NEW.principal_outstanding, 1);
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION loans_track_arrears() FROM PUBLIC;
CREATE TRIGGER loans_track_arrears AFTER INSERT OR DELETE ON loans
    FOR EACH ROW EXECUTE FUNCTION loans_track_arrears();
CREATE TRIGGER loans_track_arrears_update
    AFTER UPDATE OF status, branch_id, principal_outstanding, oldest_unpaid_due_date ON loans FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.branch_id IS DISTINCT FROM NEW.branch_id
          OR OLD.principal_outstanding IS DISTINCT FROM NEW.principal_outstanding
          OR OLD.oldest_unpaid_due_date IS DISTINCT FROM NEW.oldest_unpaid_due_date)
    EXECUTE FUNCTION loans_track_arrears();

-- The changes since the last fold, added into the totals; a total no loan is left in goes. Returns how many changes
-- were folded. One fold at a time; PAR reads on meanwhile, and payments append on meanwhile (what they append after
-- the fold's snapshot waits for the next fold).
CREATE FUNCTION loan_arrears_fold() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_folded bigint;
BEGIN
    LOCK TABLE loan_arrears_totals IN SHARE ROW EXCLUSIVE MODE;
    WITH moved AS (DELETE FROM loan_arrears_changes RETURNING *),
         summed AS (SELECT branch_id, oldest_unpaid_due_date, sum(principal_outstanding) AS principal_outstanding,
                           sum(loans)::integer AS loans, count(*) AS changes
                      FROM moved GROUP BY branch_id, oldest_unpaid_due_date),
         added AS (
             INSERT INTO loan_arrears_totals AS t (branch_id, oldest_unpaid_due_date, principal_outstanding, loans)
             SELECT branch_id, oldest_unpaid_due_date, principal_outstanding, loans FROM summed
             ON CONFLICT (branch_id, oldest_unpaid_due_date) DO UPDATE
                 SET principal_outstanding = t.principal_outstanding + excluded.principal_outstanding,
                     loans = t.loans + excluded.loans)
    SELECT COALESCE(sum(changes), 0) INTO v_folded FROM summed;
    DELETE FROM loan_arrears_totals WHERE loans = 0 AND principal_outstanding = 0;
    RETURN v_folded;
END $$;

-- The totals computed again from the loans: after a load that bypassed the triggers (the scale seed), or to repair
-- what loan_arrears_drift() reports.
CREATE FUNCTION loan_arrears_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_rows bigint;
BEGIN
    LOCK TABLE loan_arrears_totals, loan_arrears_changes IN EXCLUSIVE MODE;
    LOCK TABLE loans IN SHARE MODE;
    DELETE FROM loan_arrears_changes;
    DELETE FROM loan_arrears_totals;
    INSERT INTO loan_arrears_totals (branch_id, oldest_unpaid_due_date, principal_outstanding, loans)
    SELECT l.branch_id, COALESCE(l.oldest_unpaid_due_date, 'infinity'), sum(l.principal_outstanding), count(*)
      FROM loans l
     WHERE l.status IN ('active', 'defaulted')
     GROUP BY 1, 2;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END $$;

-- Where the totals and the changes do not add up to the loans (none, unless a load bypassed the triggers).
CREATE FUNCTION loan_arrears_drift()
RETURNS TABLE (branch_id bigint, oldest_unpaid_due_date date, tracked numeric, actual numeric,
               tracked_loans bigint, actual_loans bigint)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    WITH tracked AS (
        SELECT a.branch_id, a.oldest_unpaid_due_date, sum(a.principal_outstanding) AS amount, sum(a.loans) AS loans
          FROM (SELECT t.branch_id, t.oldest_unpaid_due_date, t.principal_outstanding, t.loans
                  FROM loan_arrears_totals t
                UNION ALL
                SELECT c.branch_id, c.oldest_unpaid_due_date, c.principal_outstanding, c.loans
                  FROM loan_arrears_changes c) a
         GROUP BY 1, 2),
    actual AS (
        SELECT l.branch_id, COALESCE(l.oldest_unpaid_due_date, 'infinity') AS oldest_unpaid_due_date,
               sum(l.principal_outstanding) AS amount, count(*) AS loans
          FROM loans l
         WHERE l.status IN ('active', 'defaulted')
         GROUP BY 1, 2)
    SELECT COALESCE(t.branch_id, a.branch_id), COALESCE(t.oldest_unpaid_due_date, a.oldest_unpaid_due_date),
           COALESCE(t.amount, 0), COALESCE(a.amount, 0), COALESCE(t.loans, 0), COALESCE(a.loans, 0)
      FROM tracked t
      FULL JOIN actual a ON a.branch_id = t.branch_id AND a.oldest_unpaid_due_date = t.oldest_unpaid_due_date
     WHERE COALESCE(t.amount, 0) <> COALESCE(a.amount, 0) OR COALESCE(t.loans, 0) <> COALESCE(a.loans, 0)
$$;
REVOKE ALL ON FUNCTION loan_arrears_fold(), loan_arrears_rebuild(), loan_arrears_drift() FROM PUBLIC;

SELECT loan_arrears_rebuild();

-- PAR: the caller's branches (head office: every branch), or a branch with or without those under it. The functions
-- run as astrofin_definer, held to the caller's branches by the tables' policies.
CREATE OR REPLACE FUNCTION calculate_par(p_days_threshold integer, p_as_of date DEFAULT NULL::date) RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN par_percent(p_days_threshold, p_as_of, NULL);
END $$;

CREATE OR REPLACE FUNCTION calculate_par(p_days_threshold integer, p_as_of date, p_branch_id bigint,
                                         p_with_children boolean DEFAULT true) RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_branch_id IS NULL THEN
        RETURN par_percent(p_days_threshold, p_as_of, NULL);
    END IF;
    RETURN par_percent(p_days_threshold, p_as_of,
                       CASE WHEN coalesce(p_with_children, true) THEN branch_subtree(p_branch_id)
                            ELSE ARRAY[p_branch_id] END);
END $$;

-- The one sum: branches NULL means all the caller may see.
CREATE FUNCTION par_percent(p_days_threshold integer, p_as_of date, p_branches bigint[]) RETURNS numeric
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_as_of   date := COALESCE(p_as_of, current_date);
    v_total   numeric;
    v_at_risk numeric;
BEGIN
    IF p_days_threshold IS NULL THEN
        RAISE EXCEPTION 'PAR needs a number of days (got none)' USING ERRCODE = 'P0107';
    END IF;
    IF p_days_threshold < 0 THEN
        RAISE EXCEPTION 'PAR days must be 0 or more, not %', p_days_threshold USING ERRCODE = 'P0107';
    END IF;
    SELECT sum(a.principal_outstanding),
           sum(a.principal_outstanding) FILTER (WHERE a.oldest_unpaid_due_date < v_as_of - p_days_threshold)
      INTO v_total, v_at_risk
      FROM (SELECT t.branch_id, t.oldest_unpaid_due_date, t.principal_outstanding FROM loan_arrears_totals t
            UNION ALL
            SELECT c.branch_id, c.oldest_unpaid_due_date, c.principal_outstanding FROM loan_arrears_changes c) a
     WHERE p_branches IS NULL OR a.branch_id = ANY (p_branches);
    IF v_total IS NULL OR v_total <= 0 THEN
        RETURN 0;
    END IF;
    RETURN round(100 * COALESCE(v_at_risk, 0) / v_total, 2);
END $$;
REVOKE ALL ON FUNCTION par_percent(integer, date, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION par_percent(integer, date, bigint[]) TO astrofin_definer;
ALTER FUNCTION calculate_par(integer, date) OWNER TO astrofin_definer;
ALTER FUNCTION calculate_par(integer, date, bigint, boolean) OWNER TO astrofin_definer;
ALTER FUNCTION par_percent(integer, date, bigint[]) OWNER TO astrofin_definer;
