-- Rescheduling (0022): a request to move a loan's unpaid tail, approved or rejected by another supervisor. On approval
-- the unpaid tail is written anew by the one schedule math; what was paid stays paid; the replaced rows are kept in
-- payment_schedule_history; the principal still sums to the loan's principal. Nothing is posted (cash basis).
--
-- Decisions where the spec is silent (docs/database.md "Rescheduling" says the same):
-- * The new tail has (installments from from_installment to the last) + extra_installments rows. A partly paid
--   installment at from_installment is closed at what it received (its dues become what was paid, it is `paid` on
--   the day of the loan's last repayment) and the new tail follows it; what it still owed moves into the tail
--   (principal) or is arrears (interest and penalty, below).
-- * Arrears are the interest still owed on tail installments due before the day of approval, and every penalty still
--   owed on the tail. 'keep' puts them on the first new installment (interest_due, penalty_due); 'waive' drops them.
--   Interest of tail installments not yet due is replaced by the new tail's interest.
-- * Grace periods are interest-only installments at the start of the new tail (ledger_schedule_amounts' p_grace);
--   at 0 % they would owe 0.00 and are refused.
-- * The new next due date: not before the disbursement, after the due date of the installment kept before the tail,
--   not in the past (the first new installment would be overdue the day it is written), at most a year ahead.
-- * The loan keeps its status (a defaulted loan stays defaulted), its method, frequency and first repayment date;
--   its term becomes its number of installments and its rate the new rate; a loan of a product is held to the
--   product's rate and term ranges.

------------------------------------------------------------------------------------------------------
-- 1. The schedule math takes grace periods: the first p_grace installments repay no principal (interest only),
--    the others amortize what is owed as before. The old signatures are the same math with no grace.
------------------------------------------------------------------------------------------------------
CREATE FUNCTION ledger_schedule_amounts(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                        p_periods_per_year integer, p_grace integer)
RETURNS TABLE(installment_number integer, principal_due numeric, interest_due numeric, balance_after numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_grace        integer := coalesce(p_grace, 0);
    v_r            numeric;
    v_emi          numeric;
    v_balance      numeric := p_principal;
    v_interest_all numeric;
    v_interest_left numeric;
    v_principal_each numeric;
    v_interest_each numeric;
    v_p            numeric;
    v_i            numeric;
    k              integer;
BEGIN
    IF v_grace < 0 OR v_grace >= p_term THEN
        RAISE EXCEPTION 'Grace periods must be from 0 to % for % installments', p_term - 1, p_term
            USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;
    IF p_method = 'declining_balance' THEN
        IF p_rate = 0 THEN
            v_emi := round(p_principal / (p_term - v_grace), 2);
        ELSE
            v_r := p_rate::numeric(40, 30) / (100 * p_periods_per_year);
            v_emi := round(p_principal * v_r / (1 - power(1 + v_r, -(p_term - v_grace))), 2);
        END IF;
        FOR k IN 1 .. p_term LOOP
            v_i := round(v_balance * p_rate / (100 * p_periods_per_year), 2);
            IF k <= v_grace THEN
                v_p := 0;                               -- a grace period pays interest only
            ELSIF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes what is still owed
            ELSE
                v_p := least(greatest(v_emi - v_i, 0), v_balance);
            END IF;
            v_balance := v_balance - v_p;
            installment_number := k;
            principal_due := v_p;
            interest_due := v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    ELSE
        v_interest_all := round(p_principal * p_rate * p_term / (100 * p_periods_per_year), 2);
        v_interest_left := v_interest_all;
        v_principal_each := round(p_principal / (p_term - v_grace), 2);
        v_interest_each := round(v_interest_all / p_term, 2);
        FOR k IN 1 .. p_term LOOP
            IF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes the remainders
                v_i := v_interest_left;
            ELSE
                v_p := CASE WHEN k <= v_grace THEN 0 ELSE least(v_principal_each, v_balance) END;
                v_i := least(v_interest_each, v_interest_left);
            END IF;
            v_balance := v_balance - v_p;
            v_interest_left := v_interest_left - v_i;
            installment_number := k;
            principal_due := v_p;
            interest_due := v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION ledger_schedule_amounts(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                                   p_periods_per_year integer)
RETURNS TABLE(installment_number integer, principal_due numeric, interest_due numeric, balance_after numeric)
LANGUAGE sql IMMUTABLE AS $$
    SELECT a.installment_number, a.principal_due, a.interest_due, a.balance_after
      FROM ledger_schedule_amounts(p_principal, p_rate, p_method, p_term, p_periods_per_year, 0) a
$$;

-- The rows of a schedule with its checks, as before, with grace periods: a schedule whose grace periods would owe
-- 0.00 is refused beside grace_periods, one whose amortizing installments would, beside term.
CREATE FUNCTION ledger_schedule_rows(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                     p_frequency text, p_first_date date, p_grace integer)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              total_due numeric, balance_after numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_ppy   integer;
    v_zeros integer;
    v_most  integer;
BEGIN
    PERFORM ledger_check_amount(p_principal, 'principal');
    IF p_rate IS NULL OR p_rate < 0 OR p_rate > 1000 THEN
        RAISE EXCEPTION 'The interest rate must be a yearly percent from 0 to 1000 (got %)', coalesce(p_rate::text, 'none')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_method IS NULL OR p_method NOT IN ('declining_balance', 'flat') THEN
        RAISE EXCEPTION 'Unknown interest method %: use declining_balance or flat', coalesce(p_method, '(none)')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_term IS NULL OR p_term < 1 OR p_term > 520 THEN
        RAISE EXCEPTION 'The term must be from 1 to 520 installments (got %)', coalesce(p_term::text, 'none')
            USING ERRCODE = 'P0107';
    END IF;
    v_ppy := ledger_periods_per_year(p_frequency);
    IF v_ppy IS NULL THEN
        RAISE EXCEPTION 'Unknown repayment frequency %: use weekly, biweekly or monthly', coalesce(p_frequency, '(none)')
            USING ERRCODE = 'P0107';
    END IF;
    IF p_first_date IS NULL THEN
        RAISE EXCEPTION 'The first repayment date is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_grace IS NULL OR p_grace < 0 OR p_grace >= p_term THEN
        RAISE EXCEPTION 'Grace periods must be from 0 to % for % installments (got %)', p_term - 1, p_term,
            coalesce(p_grace::text, 'none') USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;

    SELECT count(*) FILTER (WHERE a.principal_due + a.interest_due = 0) INTO v_zeros
      FROM ledger_schedule_amounts(p_principal, p_rate, p_method, p_term, v_ppy, p_grace) a;
    IF v_zeros > 0 AND p_grace > 0 AND p_rate = 0 THEN
        RAISE EXCEPTION 'at 0 %% a grace period charges nothing and would be an installment of 0.00: '
                        'choose no grace periods, or a rate'
            USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;
    IF v_zeros > 0 THEN
        v_most := ledger_longest_working_term(p_principal, p_rate, p_method, p_term, v_ppy);
        -- COLUMN names the loan field the message belongs beside (the repositories read it).
        RAISE EXCEPTION 'at % %% a % loan of % can run at most % installment%: over % installments the rounded '
                        'installment repays it early and the last % would be 0.00',
            trim_scale(p_rate), p_frequency, ledger_money(p_principal), v_most,
            CASE WHEN v_most = 1 THEN '' ELSE 's' END, p_term, v_zeros
            USING ERRCODE = 'P0107', COLUMN = 'term';
    END IF;

    RETURN QUERY
        SELECT a.installment_number, ledger_due_date(p_first_date, p_frequency, a.installment_number),
               a.principal_due, a.interest_due, a.principal_due + a.interest_due, a.balance_after
          FROM ledger_schedule_amounts(p_principal, p_rate, p_method, p_term, v_ppy, p_grace) a
         ORDER BY a.installment_number;
END $$;

CREATE OR REPLACE FUNCTION ledger_schedule_rows(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                                p_frequency text, p_first_date date)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              total_due numeric, balance_after numeric)
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.installment_number, r.due_date, r.principal_due, r.interest_due, r.total_due, r.balance_after
      FROM ledger_schedule_rows(p_principal, p_rate, p_method, p_term, p_frequency, p_first_date, 0) r
$$;

------------------------------------------------------------------------------------------------------
-- 2. The tables.
------------------------------------------------------------------------------------------------------
CREATE TABLE loan_reschedules (
    id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    loan_id            bigint NOT NULL REFERENCES loans (id),
    branch_id          bigint NOT NULL REFERENCES branches (id),
    status             text NOT NULL DEFAULT 'pending'
                           CONSTRAINT loan_reschedules_status_check CHECK (status IN ('pending', 'approved', 'rejected')),
    from_installment   integer NOT NULL CONSTRAINT loan_reschedules_from_check CHECK (from_installment BETWEEN 1 AND 520),
    new_next_due_date  date NOT NULL,
    extra_installments integer NOT NULL DEFAULT 0
                           CONSTRAINT loan_reschedules_extra_check CHECK (extra_installments BETWEEN 0 AND 519),
    new_rate           numeric(7,4) CONSTRAINT loan_reschedules_rate_check CHECK (new_rate BETWEEN 0 AND 1000),
    grace_periods      integer NOT NULL DEFAULT 0
                           CONSTRAINT loan_reschedules_grace_check CHECK (grace_periods BETWEEN 0 AND 519),
    arrears_handling   text NOT NULL DEFAULT 'keep'
                           CONSTRAINT loan_reschedules_arrears_check CHECK (arrears_handling IN ('keep', 'waive')),
    reason             text NOT NULL CONSTRAINT loan_reschedules_reason_check
                           CHECK (length(btrim(reason)) BETWEEN 1 AND 500 AND reason !~ '[[:cntrl:]]'),
    requested_by       bigint NOT NULL REFERENCES users (id),
    requested_at       timestamptz NOT NULL DEFAULT now(),
    decided_by         bigint REFERENCES users (id),
    decided_at         timestamptz,
    decision_note      text CONSTRAINT loan_reschedules_note_check
                           CHECK (decision_note IS NULL
                                  OR (length(btrim(decision_note)) BETWEEN 1 AND 500 AND decision_note !~ '[[:cntrl:]]')),
    outstanding_moved  numeric(14,2) CONSTRAINT loan_reschedules_moved_check CHECK (outstanding_moved >= 0),
    arrears_interest   numeric(14,2) CONSTRAINT loan_reschedules_arrears_interest_check CHECK (arrears_interest >= 0),
    arrears_penalty    numeric(14,2) CONSTRAINT loan_reschedules_arrears_penalty_check CHECK (arrears_penalty >= 0),
    -- Of arrears_penalty, what an earlier reschedule had carried onto the tail (owed on no charge): the penalty report
    -- counts it as waived when this reschedule waives it.
    arrears_penalty_carried numeric(14,2) CONSTRAINT loan_reschedules_arrears_carried_check
                           CHECK (arrears_penalty_carried >= 0 AND arrears_penalty_carried <= arrears_penalty),
    previous_term      integer,
    previous_rate      numeric(7,4),
    new_term           integer,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT loan_reschedules_decided_check CHECK ((status = 'pending') = (decided_by IS NULL)
                                                     AND (decided_by IS NULL) = (decided_at IS NULL)),
    CONSTRAINT loan_reschedules_four_eyes CHECK (decided_by IS DISTINCT FROM requested_by),
    CONSTRAINT loan_reschedules_approved_check CHECK ((status = 'approved') = (outstanding_moved IS NOT NULL))
);
CREATE UNIQUE INDEX loan_reschedules_one_pending ON loan_reschedules (loan_id) WHERE status = 'pending';
CREATE INDEX loan_reschedules_loan_idx ON loan_reschedules (loan_id);
CREATE INDEX loan_reschedules_branch_status_idx ON loan_reschedules (branch_id, status);
CREATE TRIGGER loan_reschedules_updated_at BEFORE UPDATE ON loan_reschedules
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER loan_reschedules_audit AFTER INSERT OR UPDATE OR DELETE ON loan_reschedules
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- A copy of every schedule row a reschedule replaced (or closed at what it received), as it was just before.
CREATE TABLE payment_schedule_history (
    id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    reschedule_id      bigint NOT NULL REFERENCES loan_reschedules (id),
    loan_id            bigint NOT NULL REFERENCES loans (id),
    branch_id          bigint NOT NULL REFERENCES branches (id),
    schedule_id        bigint NOT NULL,
    installment_number integer NOT NULL,
    due_date           date NOT NULL,
    principal_due      numeric(14,2) NOT NULL,
    interest_due       numeric(14,2) NOT NULL,
    penalty_due        numeric(14,2) NOT NULL,
    total_due          numeric(14,2) NOT NULL,
    principal_paid     numeric(14,2) NOT NULL,
    interest_paid      numeric(14,2) NOT NULL,
    penalty_paid       numeric(14,2) NOT NULL,
    total_paid         numeric(14,2) NOT NULL,
    status             text NOT NULL,
    paid_date          date,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_schedule_history_row_key UNIQUE (reschedule_id, installment_number)
);
CREATE INDEX payment_schedule_history_loan_idx ON payment_schedule_history (loan_id, reschedule_id);
CREATE TRIGGER payment_schedule_history_audit_insert AFTER INSERT ON payment_schedule_history
    REFERENCING NEW TABLE AS audit_new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_statement_change();

-- Both belong to their loan's branch, whatever the client sends, and follow it when the customer moves.
CREATE FUNCTION loan_reschedules_take_branch() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    SELECT l.branch_id INTO NEW.branch_id FROM loans l WHERE l.id = NEW.loan_id;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION loan_reschedules_take_branch() FROM PUBLIC;
CREATE TRIGGER loan_reschedules_take_branch BEFORE INSERT OR UPDATE OF loan_id, branch_id ON loan_reschedules
    FOR EACH ROW EXECUTE FUNCTION loan_reschedules_take_branch();
CREATE TRIGGER payment_schedule_history_take_branch BEFORE INSERT OR UPDATE OF loan_id, branch_id
    ON payment_schedule_history FOR EACH ROW EXECUTE FUNCTION loan_reschedules_take_branch();

CREATE FUNCTION loans_reschedules_follow_branch() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE loan_reschedules SET branch_id = NEW.branch_id WHERE loan_id = NEW.id;
    UPDATE payment_schedule_history SET branch_id = NEW.branch_id WHERE loan_id = NEW.id;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION loans_reschedules_follow_branch() FROM PUBLIC;
CREATE TRIGGER loans_reschedules_follow_branch AFTER UPDATE OF branch_id ON loans
    FOR EACH ROW WHEN (OLD.branch_id IS DISTINCT FROM NEW.branch_id)
    EXECUTE FUNCTION loans_reschedules_follow_branch();

ALTER TABLE loan_reschedules ENABLE ROW LEVEL SECURITY;
CREATE POLICY loan_reschedules_scope ON loan_reschedules
    USING (branch_id = ANY ((SELECT astrofin_branch_scope())::bigint[]));
ALTER TABLE payment_schedule_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY payment_schedule_history_scope ON payment_schedule_history
    USING (branch_id = ANY ((SELECT astrofin_branch_scope())::bigint[]));

-- Everyone who views a loan sees its reschedules and old schedules; every change goes through the functions below.
GRANT SELECT ON loan_reschedules, payment_schedule_history TO astrofin_cashier, astrofin_loan_officer,
    astrofin_supervisor, astrofin_accountant, astrofin_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON loan_reschedules, payment_schedule_history TO astrofin_definer;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE loan_reschedules_id_seq, payment_schedule_history_id_seq TO astrofin_definer;

-- Arrears interest a 'keep' reschedule carried onto its first new installment: it was due before the reschedule, so
-- it stays due whatever happens next. The installment's interest_paid pays it first; a payoff keeps what of it is
-- unpaid under every early-settlement rule (ledger_payoff_rows below), and a later reschedule counts it as arrears
-- (reschedule_owed) even before the installment falls due.
ALTER TABLE payment_schedules ADD COLUMN interest_carried numeric(14,2) NOT NULL DEFAULT 0
    CONSTRAINT payment_schedules_interest_carried_check CHECK (interest_carried >= 0 AND interest_carried <= interest_due);

CREATE OR REPLACE FUNCTION ledger_payoff_rows(p_loan_id bigint, p_disbursed date, p_rule text, p_as_of date)
    RETURNS TABLE(schedule_id bigint, principal numeric, interest numeric, penalty numeric, interest_unpaid numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT r.id, r.prin,
           CASE WHEN r.due_date <= p_as_of OR p_rule = 'all_remaining'
                     OR (p_rule = 'current_period' AND r.period_start < p_as_of) THEN r.intr
                ELSE least(r.intr, r.carried) END,
           r.pen, r.intr
      FROM (SELECT s.id, s.due_date, s.principal_due - s.principal_paid AS prin,
                   s.interest_due - s.interest_paid AS intr, s.penalty_due - s.penalty_paid AS pen,
                   greatest(s.interest_carried - s.interest_paid, 0) AS carried,
                   coalesce(lag(s.due_date) OVER (ORDER BY s.due_date, s.installment_number), p_disbursed)
                       AS period_start
              FROM payment_schedules s
             WHERE s.loan_id = p_loan_id) r
$$;

-- Late penalties (0020) on a rescheduled tail. On approval every charge of the replaced rows (the partly paid one
-- included) gives up what of it is unpaid: moved onto the new schedule ('keep': moved_amount, carried by the first new
-- installment's penalty_due) or waived by the reschedule ('waive': waived_amount, the approver, a reason naming the
-- reschedule); rescheduled_id names the reschedule. Charges of the rows the reschedule deletes lose their installment
-- (schedule_id NULL): they are history, owe nothing, are never waived again and no longer count in a run's
-- occurrences (the new rows start their own). Charges of the partly paid installment stay on it, at what it paid.
ALTER TABLE loan_charges
    ADD COLUMN rescheduled_id bigint REFERENCES loan_reschedules (id),
    ADD COLUMN moved_amount numeric(14,2) NOT NULL DEFAULT 0
        CONSTRAINT loan_charges_moved_check CHECK (moved_amount >= 0),
    ADD CONSTRAINT loan_charges_settled_check CHECK (waived_amount + moved_amount <= amount),
    ADD CONSTRAINT loan_charges_moved_by_check CHECK (moved_amount = 0 OR rescheduled_id IS NOT NULL),
    ADD CONSTRAINT loan_charges_where_check CHECK (schedule_id IS NOT NULL OR rescheduled_id IS NOT NULL);
CREATE INDEX loan_charges_rescheduled_idx ON loan_charges (rescheduled_id) WHERE rescheduled_id IS NOT NULL;

-- What of each charge on an installment is unpaid, now that an installment may also carry penalties a reschedule moved
-- onto it (its penalty_due less its charges' amounts less their waivers and moves). The installment's penalty_paid
-- pays what it carried first (it is older), then its charges oldest occurrence first, each up to its amount less its
-- waiver and what was moved of it. One pass over the installment's charges (window sums), so a reschedule or the
-- loan's panel reads many charges in linear time. Runs as the caller (its branches' rows).
CREATE FUNCTION schedule_charges_unpaid(p_schedule_id bigint) RETURNS TABLE(charge_id bigint, unpaid numeric)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT w.id, w.net - least(w.net, greatest(s.penalty_paid - greatest(s.penalty_due - w.attached, 0) - w.earlier, 0))
      FROM payment_schedules s
      JOIN (SELECT e.id, e.amount - e.waived_amount - e.moved_amount AS net,
                   sum(e.amount - e.waived_amount - e.moved_amount) OVER () AS attached,
                   coalesce(sum(e.amount - e.waived_amount - e.moved_amount)
                                OVER (ORDER BY e.occurrence ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                       AS earlier
              FROM loan_charges e
             WHERE e.schedule_id = p_schedule_id AND e.kind = 'penalty') w ON true
     WHERE s.id = p_schedule_id
$$;
REVOKE ALL ON FUNCTION schedule_charges_unpaid(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION schedule_charges_unpaid(bigint) TO astrofin_definer, astrofin_cashier,
    astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;

-- One charge: the same rule; a charge no longer on an installment owes nothing (0, never NULL).
CREATE OR REPLACE FUNCTION loan_charge_unpaid(p_charge_id bigint) RETURNS numeric
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT coalesce(u.unpaid, 0)
      FROM loan_charges c
      LEFT JOIN LATERAL schedule_charges_unpaid(c.schedule_id) u ON u.charge_id = c.id
     WHERE c.id = p_charge_id
$$;

------------------------------------------------------------------------------------------------------
-- 3. The plan: what the unpaid tail from an installment owes, and the new tail, checked field by field.
------------------------------------------------------------------------------------------------------
-- What installments p_from onwards still owe: principal (moved into the new tail), and the arrears: interest of those
-- due before p_as_of (and what of the arrears interest an earlier reschedule carried onto a later one is unpaid), and
-- every penalty.
CREATE FUNCTION reschedule_owed(p_loan_id bigint, p_from integer, p_as_of date)
RETURNS TABLE(principal numeric, arrears_interest numeric, arrears_penalty numeric)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(s.principal_due - s.principal_paid), 0)::numeric(14,2),
           (coalesce(sum(s.interest_due - s.interest_paid) FILTER (WHERE s.due_date < p_as_of), 0)
            + coalesce(sum(least(s.interest_due - s.interest_paid, greatest(s.interest_carried - s.interest_paid, 0)))
                       FILTER (WHERE s.due_date >= p_as_of), 0))::numeric(14,2),
           coalesce(sum(s.penalty_due - s.penalty_paid), 0)::numeric(14,2)
      FROM payment_schedules s
     WHERE s.loan_id = p_loan_id AND s.installment_number >= p_from AND s.paid_date IS NULL
$$;

-- A reason or a decision's note as typed: trimmed, 1 to 500 characters, no control characters.
CREATE FUNCTION reschedule_check_text(p_text text, p_what text, p_column text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_text text := btrim(p_text);
BEGIN
    IF v_text IS NULL OR v_text = '' THEN
        RAISE EXCEPTION 'Type %', p_what USING ERRCODE = 'P0107', COLUMN = p_column;
    END IF;
    IF length(v_text) > 500 THEN
        RAISE EXCEPTION 'At most 500 characters for % (this has %)', p_what, length(v_text)
            USING ERRCODE = 'P0107', COLUMN = p_column;
    END IF;
    IF v_text ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'Type % on one line, without control characters', p_what
            USING ERRCODE = 'P0107', COLUMN = p_column;
    END IF;
    RETURN v_text;
END $$;

-- The new unpaid tail of a loan, numbered where it goes in the schedule, by the one schedule math. Every field is
-- checked with a message beside it (COLUMN); nothing is written.
CREATE FUNCTION reschedule_plan(p_loan_id bigint, p_from integer, p_next date, p_extra integer, p_rate numeric,
                                p_grace integer, p_arrears text, p_as_of date)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              penalty_due numeric, total_due numeric, balance_after numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_loan      loans%ROWTYPE;
    v_product   loan_products%ROWTYPE;
    v_as_of     date := coalesce(p_as_of, current_date);
    v_row       payment_schedules%ROWTYPE;
    v_count     integer;
    v_first     integer;
    v_partial   boolean;
    v_base      integer;
    v_kept      integer;
    v_kept_due  date;
    v_tail      integer;
    v_m         integer;
    v_rate      numeric;
    v_owed      record;
    v_ppy       integer;
    v_zeros     integer;
BEGIN
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    IF v_loan.status NOT IN ('active', 'defaulted') THEN
        RAISE EXCEPTION 'Loan % is %; only an active or defaulted loan is rescheduled', v_loan.loan_number,
            v_loan.status USING ERRCODE = 'P0102';
    END IF;
    SELECT count(*)::integer, min(s.installment_number) FILTER (WHERE s.paid_date IS NULL)
      INTO v_count, v_first FROM payment_schedules s WHERE s.loan_id = p_loan_id;
    IF v_first IS NULL THEN
        RAISE EXCEPTION 'Loan % has no unpaid installment to reschedule', v_loan.loan_number USING ERRCODE = 'P0102';
    END IF;

    -- From which installment.
    IF p_from IS NULL THEN
        RAISE EXCEPTION 'Type the installment to reschedule from: % (the first unpaid) or a later one', v_first
            USING ERRCODE = 'P0107', COLUMN = 'from_installment';
    END IF;
    SELECT * INTO v_row FROM payment_schedules s WHERE s.loan_id = p_loan_id AND s.installment_number = p_from;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % has installments 1 to %; reschedule from % (the first unpaid) to %', v_loan.loan_number,
            v_count, v_first, v_count USING ERRCODE = 'P0107', COLUMN = 'from_installment';
    END IF;
    IF v_row.paid_date IS NOT NULL THEN
        RAISE EXCEPTION 'Installment % is paid; reschedule from an unpaid one: % (the first unpaid) to %', p_from,
            v_first, v_count USING ERRCODE = 'P0107', COLUMN = 'from_installment';
    END IF;
    v_partial := v_row.total_paid > 0;
    v_kept := CASE WHEN v_partial THEN p_from ELSE p_from - 1 END;      -- the last installment that stays
    v_base := v_kept;
    SELECT s.due_date INTO v_kept_due FROM payment_schedules s
     WHERE s.loan_id = p_loan_id AND s.installment_number = v_kept;

    -- The new next due date.
    IF p_next IS NULL THEN
        RAISE EXCEPTION 'Type the new next due date' USING ERRCODE = 'P0107', COLUMN = 'new_next_due_date';
    END IF;
    IF p_next < v_loan.disbursement_date THEN
        RAISE EXCEPTION 'The new next due date % is before loan % was disbursed on %', p_next, v_loan.loan_number,
            v_loan.disbursement_date USING ERRCODE = 'P0104', COLUMN = 'new_next_due_date';
    END IF;
    IF v_kept_due IS NOT NULL AND p_next <= v_kept_due THEN
        RAISE EXCEPTION 'The new next due date must come after % (installment %, which stays as it is)', v_kept_due,
            v_kept USING ERRCODE = 'P0104', COLUMN = 'new_next_due_date';
    END IF;
    IF p_next < v_as_of THEN
        RAISE EXCEPTION 'The new next due date % is in the past; choose % or later', p_next, v_as_of
            USING ERRCODE = 'P0104', COLUMN = 'new_next_due_date';
    END IF;
    IF p_next > (v_as_of + interval '1 year')::date THEN
        RAISE EXCEPTION 'The new next due date % is more than a year ahead (at most %)', p_next,
            (v_as_of + interval '1 year')::date USING ERRCODE = 'P0104', COLUMN = 'new_next_due_date';
    END IF;

    -- Extra installments: the whole loan stays within 520.
    v_tail := v_count - p_from + 1;
    IF p_extra IS NULL THEN
        RAISE EXCEPTION 'Type how many installments to add (0 for none)' USING ERRCODE = 'P0107',
            COLUMN = 'extra_installments';
    END IF;
    IF p_extra < 0 THEN
        RAISE EXCEPTION 'Extra installments cannot be negative (got %)', p_extra USING ERRCODE = 'P0107',
            COLUMN = 'extra_installments';
    END IF;
    IF v_base + v_tail + p_extra > 520 THEN
        RAISE EXCEPTION 'A loan has at most 520 installments: add at most % (got %)',
            greatest(520 - v_base - v_tail, 0), p_extra USING ERRCODE = 'P0107', COLUMN = 'extra_installments';
    END IF;
    v_m := v_tail + p_extra;

    -- The rate: empty keeps the loan's.
    IF p_rate IS NOT NULL THEN
        IF p_rate = 'NaN'::numeric THEN
            RAISE EXCEPTION 'The new rate is not a number' USING ERRCODE = 'P0107', COLUMN = 'new_rate';
        END IF;
        IF p_rate < 0 OR p_rate > 1000 THEN
            RAISE EXCEPTION 'The new rate must be a yearly percent from 0 to 1000 (got %), or empty to keep %',
                p_rate, trim_scale(v_loan.interest_rate) USING ERRCODE = 'P0107', COLUMN = 'new_rate';
        END IF;
        IF p_rate <> round(p_rate, 4) THEN
            RAISE EXCEPTION 'The new rate has at most four decimals (got %)', p_rate USING ERRCODE = 'P0107',
                COLUMN = 'new_rate';
        END IF;
    END IF;
    v_rate := coalesce(p_rate, v_loan.interest_rate);

    -- Grace periods: interest only, and at least the last installment repays principal.
    IF p_grace IS NULL THEN
        RAISE EXCEPTION 'Type the grace periods (0 for none)' USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;
    IF p_grace < 0 OR p_grace >= v_m THEN
        RAISE EXCEPTION 'Grace periods must be from 0 to % (the new tail has % installment%; the last repays principal)',
            v_m - 1, v_m, CASE WHEN v_m = 1 THEN '' ELSE 's' END USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;
    IF p_grace > 0 AND v_rate = 0 THEN
        RAISE EXCEPTION 'At 0 %% a grace period charges nothing and would be an installment of 0.00: choose no grace '
                        'periods, or a rate' USING ERRCODE = 'P0107', COLUMN = 'grace_periods';
    END IF;

    IF p_arrears IS NULL OR p_arrears NOT IN ('keep', 'waive') THEN
        RAISE EXCEPTION 'Choose keep (arrears due on the first new installment) or waive'
            USING ERRCODE = 'P0107', COLUMN = 'arrears_handling';
    END IF;

    -- A loan of a product stays within the product's rate and term.
    IF v_loan.product_id IS NOT NULL THEN
        SELECT * INTO v_product FROM loan_products p WHERE p.id = v_loan.product_id;
        IF v_rate < v_product.rate_min OR v_rate > v_product.rate_max THEN
            RAISE EXCEPTION 'The rate for % is % %%', v_product.code,
                loan_product_range_text(trim_scale(v_product.rate_min)::text, trim_scale(v_product.rate_max)::text)
                USING ERRCODE = 'P0109', COLUMN = 'new_rate';
        END IF;
        IF v_base + v_m < v_product.term_min OR v_base + v_m > v_product.term_max THEN
            RAISE EXCEPTION 'Loan % would have % installments; for % the number of installments is %',
                v_loan.loan_number, v_base + v_m, v_product.code,
                loan_product_range_text(v_product.term_min::text, v_product.term_max::text)
                USING ERRCODE = 'P0109', COLUMN = 'extra_installments';
        END IF;
    END IF;

    SELECT * INTO v_owed FROM reschedule_owed(p_loan_id, p_from, v_as_of);
    IF v_owed.principal <= 0 THEN
        RAISE EXCEPTION 'Installments % to % owe no principal; there is nothing to reschedule', p_from, v_count
            USING ERRCODE = 'P0102', COLUMN = 'from_installment';
    END IF;
    -- A request that changes nothing: the same tail from the same day at the same rate.
    IF p_extra = 0 AND p_grace = 0 AND v_rate = v_loan.interest_rate AND NOT v_partial AND p_next = v_row.due_date
       AND v_owed.arrears_interest + v_owed.arrears_penalty = 0 THEN
        RAISE EXCEPTION 'This changes nothing: add installments, move the next due date, change the rate or give '
                        'grace periods' USING ERRCODE = 'P0107', COLUMN = 'extra_installments';
    END IF;
    v_ppy := ledger_periods_per_year(v_loan.repayment_frequency);
    SELECT count(*) FILTER (WHERE a.principal_due + a.interest_due = 0) INTO v_zeros
      FROM ledger_schedule_amounts(v_owed.principal, v_rate, v_loan.interest_method, v_m, v_ppy, p_grace) a;
    IF v_zeros > 0 THEN
        RAISE EXCEPTION 'Over % installments at % %% the rounded installment repays % early and the last % would '
                        'owe 0.00: add fewer installments', v_m, trim_scale(v_rate), ledger_money(v_owed.principal),
            v_zeros USING ERRCODE = 'P0107', COLUMN = 'extra_installments';
    END IF;

    RETURN QUERY
        SELECT v_base + r.installment_number, r.due_date, r.principal_due,
               (r.interest_due + CASE WHEN p_arrears = 'keep' AND r.installment_number = 1
                                      THEN v_owed.arrears_interest ELSE 0 END)::numeric(14,2),
               (CASE WHEN p_arrears = 'keep' AND r.installment_number = 1 THEN v_owed.arrears_penalty
                     ELSE 0 END)::numeric(14,2),
               (r.total_due + CASE WHEN p_arrears = 'keep' AND r.installment_number = 1
                                   THEN v_owed.arrears_interest + v_owed.arrears_penalty ELSE 0 END)::numeric(14,2),
               r.balance_after
          FROM ledger_schedule_rows(v_owed.principal, v_rate, v_loan.interest_method, v_m,
                                    v_loan.repayment_frequency, p_next, p_grace) r
         ORDER BY r.installment_number;
END $$;

------------------------------------------------------------------------------------------------------
-- 4. The staff's functions.
------------------------------------------------------------------------------------------------------
-- The new tail a reschedule would write, before anything is saved (the form's side-by-side preview).
CREATE FUNCTION preview_reschedule(p_loan_id bigint, p_from_installment integer, p_new_next_due_date date,
                                   p_extra_installments integer, p_new_rate numeric, p_grace_periods integer,
                                   p_arrears_handling text)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              penalty_due numeric, total_due numeric, balance_after numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT * FROM reschedule_plan(p_loan_id, p_from_installment, p_new_next_due_date, p_extra_installments,
                                  p_new_rate, p_grace_periods, p_arrears_handling, current_date)
$$;

CREATE FUNCTION request_reschedule(p_loan_id bigint, p_from_installment integer, p_new_next_due_date date,
                                   p_extra_installments integer, p_new_rate numeric, p_grace_periods integer,
                                   p_arrears_handling text, p_reason text, p_user bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_loan    loans%ROWTYPE;
    v_pending loan_reschedules%ROWTYPE;
    v_reason  text;
    v_id      bigint;
BEGIN
    PERFORM ledger_require_actor(p_user, ARRAY['loan_officer', 'supervisor'], 'request a reschedule');
    IF p_loan_id IS NULL THEN
        RAISE EXCEPTION 'Which loan? The loan id is missing' USING ERRCODE = 'P0107';
    END IF;
    SELECT * INTO v_loan FROM loans l WHERE l.id = p_loan_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loan % does not exist', p_loan_id USING ERRCODE = 'P0101';
    END IF;
    SELECT * INTO v_pending FROM loan_reschedules r WHERE r.loan_id = p_loan_id AND r.status = 'pending';
    IF FOUND THEN
        RAISE EXCEPTION 'Loan % already has a reschedule waiting for approval (requested %); approve or reject it '
                        'first', v_loan.loan_number, to_char(v_pending.requested_at, 'YYYY-MM-DD')
            USING ERRCODE = 'P0102';
    END IF;
    PERFORM 1 FROM reschedule_plan(p_loan_id, p_from_installment, p_new_next_due_date, p_extra_installments,
                                   p_new_rate, p_grace_periods, p_arrears_handling, current_date);
    v_reason := reschedule_check_text(p_reason, 'the reason for the reschedule', 'reason');
    INSERT INTO loan_reschedules (loan_id, from_installment, new_next_due_date, extra_installments, new_rate,
                                  grace_periods, arrears_handling, reason, requested_by)
    VALUES (p_loan_id, p_from_installment, p_new_next_due_date, p_extra_installments, p_new_rate, p_grace_periods,
            p_arrears_handling, v_reason, p_user)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- The reschedule a supervisor decides: pending, and never one's own.
CREATE FUNCTION reschedule_for_decision(p_reschedule_id bigint, p_user bigint, p_verb text)
RETURNS loan_reschedules
LANGUAGE plpgsql AS $$
DECLARE
    v_r loan_reschedules%ROWTYPE;
BEGIN
    IF p_reschedule_id IS NULL THEN
        RAISE EXCEPTION 'Which reschedule? Its id is missing' USING ERRCODE = 'P0107';
    END IF;
    SELECT * INTO v_r FROM loan_reschedules r WHERE r.id = p_reschedule_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Reschedule % does not exist or is not one of your branches''', p_reschedule_id
            USING ERRCODE = 'P0101';
    END IF;
    IF v_r.status <> 'pending' THEN
        RAISE EXCEPTION 'This reschedule is already %; only a pending one can be %', v_r.status, p_verb
            USING ERRCODE = 'P0102';
    END IF;
    IF v_r.requested_by = p_user THEN
        RAISE EXCEPTION 'You requested this reschedule; another supervisor must % it',
            CASE p_verb WHEN 'approved' THEN 'approve' ELSE 'reject' END USING ERRCODE = 'P0105';
    END IF;
    RETURN v_r;
END $$;

CREATE FUNCTION approve_reschedule(p_reschedule_id bigint, p_user bigint, p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_r        loan_reschedules%ROWTYPE;
    v_loan     loans%ROWTYPE;
    v_note     text;
    v_owed     record;
    v_partial  payment_schedules%ROWTYPE;
    v_last_pay date;
    v_written  integer;
    v_term     integer;
    v_plan     jsonb;
    v_charged  numeric;
BEGIN
    PERFORM ledger_require_actor(p_user, ARRAY['supervisor'], 'approve a reschedule');
    v_r := reschedule_for_decision(p_reschedule_id, p_user, 'approved');
    IF nullif(btrim(p_note), '') IS NOT NULL THEN
        v_note := reschedule_check_text(p_note, 'the note', 'decision_note');
    END IF;
    SELECT * INTO v_loan FROM loans l WHERE l.id = v_r.loan_id FOR UPDATE;
    -- The plan again, as the loan stands now (a payment since the request may have changed it).
    SELECT jsonb_agg(to_jsonb(p) ORDER BY p.installment_number) INTO v_plan
      FROM reschedule_plan(v_loan.id, v_r.from_installment, v_r.new_next_due_date, v_r.extra_installments,
                           v_r.new_rate, v_r.grace_periods, v_r.arrears_handling, current_date) p;
    SELECT * INTO v_owed FROM reschedule_owed(v_loan.id, v_r.from_installment, current_date);

    -- The charges of the replaced rows, before the rows change: what of each is unpaid is moved onto the new schedule
    -- (the first new installment's penalty_due carries it, in the plan's arrears_penalty) or waived by this
    -- reschedule; they leave the rows that are deleted, and stay, at what was paid of them, on a partly paid one.
    WITH done AS (
        UPDATE loan_charges c
           SET moved_amount = c.moved_amount + CASE WHEN v_r.arrears_handling = 'keep' THEN u.unpaid ELSE 0 END,
               waived_amount = c.waived_amount + CASE WHEN v_r.arrears_handling = 'waive' THEN u.unpaid ELSE 0 END,
               waived_by = CASE WHEN v_r.arrears_handling = 'waive' AND u.unpaid > 0 THEN p_user ELSE c.waived_by END,
               waived_at = CASE WHEN v_r.arrears_handling = 'waive' AND u.unpaid > 0 THEN now() ELSE c.waived_at END,
               waive_reason = CASE WHEN v_r.arrears_handling = 'waive' AND u.unpaid > 0
                                   THEN left('Waived by reschedule ' || v_r.id || ': ' || v_r.reason, 500)
                                   ELSE c.waive_reason END,
               schedule_id = CASE WHEN u.stays THEN c.schedule_id END,
               rescheduled_id = v_r.id
          FROM (SELECT x.charge_id AS id, x.unpaid,
                       (s.installment_number = v_r.from_installment AND s.total_paid > 0) AS stays
                  FROM payment_schedules s CROSS JOIN LATERAL schedule_charges_unpaid(s.id) x
                 WHERE s.loan_id = v_loan.id AND s.installment_number >= v_r.from_installment
                   AND s.paid_date IS NULL) u
         WHERE c.id = u.id
        RETURNING u.unpaid)
    SELECT coalesce(sum(d.unpaid), 0) INTO v_charged FROM done d;

    -- The replaced rows, as they were.
    INSERT INTO payment_schedule_history (reschedule_id, loan_id, branch_id, schedule_id, installment_number, due_date,
                                          principal_due, interest_due, penalty_due, total_due, principal_paid,
                                          interest_paid, penalty_paid, total_paid, status, paid_date)
    SELECT v_r.id, s.loan_id, s.branch_id, s.id, s.installment_number, s.due_date, s.principal_due, s.interest_due,
           s.penalty_due, s.total_due, s.principal_paid, s.interest_paid, s.penalty_paid, s.total_paid, s.status,
           s.paid_date
      FROM payment_schedules s
     WHERE s.loan_id = v_loan.id AND s.installment_number >= v_r.from_installment
     ORDER BY s.installment_number;

    -- A partly paid installment is closed at what it received, on the day of the last repayment.
    SELECT * INTO v_partial FROM payment_schedules s
     WHERE s.loan_id = v_loan.id AND s.installment_number = v_r.from_installment AND s.total_paid > 0;
    IF FOUND THEN
        SELECT max(t.transaction_date) INTO v_last_pay FROM transactions t
         WHERE t.loan_id = v_loan.id AND t.transaction_type = 'repayment'
           AND NOT EXISTS (SELECT 1 FROM transactions x WHERE x.reverses_transaction_id = t.id);
        UPDATE payment_schedules
           SET principal_due = principal_paid, interest_due = interest_paid, penalty_due = penalty_paid,
               interest_carried = least(interest_carried, interest_paid),
               total_due = total_paid, status = 'paid', paid_date = coalesce(v_last_pay, current_date)
         WHERE id = v_partial.id;
    END IF;
    DELETE FROM payment_schedules s
     WHERE s.loan_id = v_loan.id AND s.installment_number >= v_r.from_installment AND s.paid_date IS NULL;
    INSERT INTO payment_schedules (loan_id, installment_number, due_date, principal_due, interest_due, penalty_due,
                                   total_due, interest_carried)
    SELECT v_loan.id, n.installment_number, n.due_date, n.principal_due, n.interest_due, n.penalty_due, n.total_due,
           CASE WHEN v_r.arrears_handling = 'keep' AND n.installment_number = (v_plan -> 0 ->> 'installment_number')::integer
                THEN v_owed.arrears_interest ELSE 0 END
      FROM jsonb_to_recordset(v_plan) AS n(installment_number integer, due_date date, principal_due numeric,
                                           interest_due numeric, penalty_due numeric, total_due numeric)
     ORDER BY n.installment_number;
    GET DIAGNOSTICS v_written = ROW_COUNT;

    SELECT count(*)::integer INTO v_term FROM payment_schedules s WHERE s.loan_id = v_loan.id;
    UPDATE loans SET term = v_term, interest_rate = coalesce(v_r.new_rate, v_loan.interest_rate) WHERE id = v_loan.id;
    -- The product check sets the fee from the product as it is today; the fee this loan was charged stays.
    UPDATE loans SET fee_amount = v_loan.fee_amount WHERE id = v_loan.id AND fee_amount <> v_loan.fee_amount;
    UPDATE loan_reschedules
       SET status = 'approved', decided_by = p_user, decided_at = now(), decision_note = v_note,
           outstanding_moved = v_owed.principal,
           arrears_interest = v_owed.arrears_interest, arrears_penalty = v_owed.arrears_penalty,
           arrears_penalty_carried = greatest(v_owed.arrears_penalty - v_charged, 0),
           previous_term = v_loan.term, previous_rate = v_loan.interest_rate, new_term = v_term
     WHERE id = v_r.id;
    RETURN v_written;
END $$;

CREATE FUNCTION reject_reschedule(p_reschedule_id bigint, p_user bigint, p_note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_r    loan_reschedules%ROWTYPE;
    v_note text;
BEGIN
    PERFORM ledger_require_actor(p_user, ARRAY['supervisor'], 'reject a reschedule');
    v_r := reschedule_for_decision(p_reschedule_id, p_user, 'rejected');
    v_note := reschedule_check_text(p_note, 'why the reschedule is rejected', 'decision_note');
    UPDATE loan_reschedules SET status = 'rejected', decided_by = p_user, decided_at = now(), decision_note = v_note
     WHERE id = v_r.id;
END $$;

------------------------------------------------------------------------------------------------------
-- 5. Grants and owners: the staff functions run as astrofin_definer, under the policies.
------------------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    ledger_schedule_amounts(numeric, numeric, text, integer, integer, integer),
    ledger_schedule_rows(numeric, numeric, text, integer, text, date, integer),
    reschedule_owed(bigint, integer, date), reschedule_check_text(text, text, text),
    reschedule_plan(bigint, integer, date, integer, numeric, integer, text, date),
    reschedule_for_decision(bigint, bigint, text),
    preview_reschedule(bigint, integer, date, integer, numeric, integer, text),
    request_reschedule(bigint, integer, date, integer, numeric, integer, text, text, bigint),
    approve_reschedule(bigint, bigint, text), reject_reschedule(bigint, bigint, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    ledger_schedule_amounts(numeric, numeric, text, integer, integer, integer),
    ledger_schedule_rows(numeric, numeric, text, integer, text, date, integer),
    reschedule_owed(bigint, integer, date), reschedule_check_text(text, text, text),
    reschedule_plan(bigint, integer, date, integer, numeric, integer, text, date),
    reschedule_for_decision(bigint, bigint, text), loan_reschedules_take_branch()
TO astrofin_definer;
-- A reschedule holds a loan to its product's ranges, read as astrofin_definer.
-- (SELECT on loan_products for astrofin_definer comes with 0021.)
GRANT EXECUTE ON FUNCTION loan_product_range_text(text, text) TO astrofin_definer;
GRANT EXECUTE ON FUNCTION preview_reschedule(bigint, integer, date, integer, numeric, integer, text),
    request_reschedule(bigint, integer, date, integer, numeric, integer, text, text, bigint)
    TO astrofin_loan_officer, astrofin_supervisor;
GRANT EXECUTE ON FUNCTION approve_reschedule(bigint, bigint, text), reject_reschedule(bigint, bigint, text)
    TO astrofin_supervisor;
ALTER FUNCTION preview_reschedule(bigint, integer, date, integer, numeric, integer, text) OWNER TO astrofin_definer;
ALTER FUNCTION request_reschedule(bigint, integer, date, integer, numeric, integer, text, text, bigint)
    OWNER TO astrofin_definer;
ALTER FUNCTION approve_reschedule(bigint, bigint, text) OWNER TO astrofin_definer;
ALTER FUNCTION reject_reschedule(bigint, bigint, text) OWNER TO astrofin_definer;
