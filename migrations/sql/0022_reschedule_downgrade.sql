-- Back to 0019: no reschedules. Loans rescheduled since keep the schedule the reschedule wrote (their rows are ordinary
-- schedule rows); the requests and the copies of the replaced rows go. The schedule math loses its grace periods and
-- gets its 0013 bodies back.

DROP TRIGGER loans_reschedules_follow_branch ON loans;
REVOKE EXECUTE ON FUNCTION loan_product_range_text(text, text) FROM astrofin_definer;
DROP FUNCTION preview_reschedule(bigint, integer, date, integer, numeric, integer, text),
    request_reschedule(bigint, integer, date, integer, numeric, integer, text, text, bigint),
    approve_reschedule(bigint, bigint, text), reject_reschedule(bigint, bigint, text),
    reschedule_for_decision(bigint, bigint, text),
    reschedule_plan(bigint, integer, date, integer, numeric, integer, text, date),
    reschedule_owed(bigint, integer, date), reschedule_check_text(text, text, text);
-- Late penalties lose what reschedules did to them (a charge a reschedule detached keeps schedule_id NULL).
DROP INDEX loan_charges_rescheduled_idx;
ALTER TABLE loan_charges DROP COLUMN rescheduled_id, DROP COLUMN moved_amount;
CREATE OR REPLACE FUNCTION loan_charge_unpaid(p_charge_id bigint) RETURNS numeric
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT coalesce((c.amount - c.waived_amount)
           - least(c.amount - c.waived_amount,
                   greatest(s.penalty_paid - coalesce((SELECT sum(e.amount - e.waived_amount) FROM loan_charges e
                                                        WHERE e.schedule_id = c.schedule_id AND e.kind = c.kind
                                                          AND e.occurrence < c.occurrence), 0), 0)), 0)
      FROM loan_charges c LEFT JOIN payment_schedules s ON s.id = c.schedule_id
     WHERE c.id = p_charge_id
$$;
DROP FUNCTION schedule_charges_unpaid(bigint);
CREATE OR REPLACE FUNCTION ledger_payoff_rows(p_loan_id bigint, p_disbursed date, p_rule text, p_as_of date)
    RETURNS TABLE(schedule_id bigint, principal numeric, interest numeric, penalty numeric, interest_unpaid numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT r.id, r.prin,
           CASE WHEN r.due_date <= p_as_of OR p_rule = 'all_remaining'
                     OR (p_rule = 'current_period' AND r.period_start < p_as_of) THEN r.intr ELSE 0 END,
           r.pen, r.intr
      FROM (SELECT s.id, s.due_date, s.principal_due - s.principal_paid AS prin,
                   s.interest_due - s.interest_paid AS intr, s.penalty_due - s.penalty_paid AS pen,
                   coalesce(lag(s.due_date) OVER (ORDER BY s.due_date, s.installment_number), p_disbursed)
                       AS period_start
              FROM payment_schedules s
             WHERE s.loan_id = p_loan_id) r
$$;
ALTER TABLE payment_schedules DROP COLUMN interest_carried;
DROP TABLE payment_schedule_history;
DROP TABLE loan_reschedules;
DROP FUNCTION loan_reschedules_take_branch(), loans_reschedules_follow_branch();

CREATE OR REPLACE FUNCTION ledger_schedule_amounts(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                        p_periods_per_year integer)
RETURNS TABLE(installment_number integer, principal_due numeric, interest_due numeric, balance_after numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
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
    IF p_method = 'declining_balance' THEN
        IF p_rate = 0 THEN
            v_emi := round(p_principal / p_term, 2);
        ELSE
            v_r := p_rate::numeric(40, 30) / (100 * p_periods_per_year);
            v_emi := round(p_principal * v_r / (1 - power(1 + v_r, -p_term)), 2);
        END IF;
        FOR k IN 1 .. p_term LOOP
            v_i := round(v_balance * p_rate / (100 * p_periods_per_year), 2);
            IF k = p_term THEN
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
        v_principal_each := round(p_principal / p_term, 2);
        v_interest_each := round(v_interest_all / p_term, 2);
        FOR k IN 1 .. p_term LOOP
            IF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes the remainders
                v_i := v_interest_left;
            ELSE
                v_p := least(v_principal_each, v_balance);
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


CREATE OR REPLACE FUNCTION ledger_schedule_rows(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                                p_frequency text, p_first_date date)
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

    v_zeros := ledger_schedule_zero_installments(p_principal, p_rate, p_method, p_term, v_ppy);
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
          FROM ledger_schedule_amounts(p_principal, p_rate, p_method, p_term, v_ppy) a
         ORDER BY a.installment_number;
END $$;

DROP FUNCTION ledger_schedule_rows(numeric, numeric, text, integer, text, date, integer);
DROP FUNCTION ledger_schedule_amounts(numeric, numeric, text, integer, integer, integer);
