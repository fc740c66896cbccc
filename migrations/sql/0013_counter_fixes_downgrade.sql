-- Back to 0012, the sections of 0013 in reverse order.

-- Section 4: no manual journal entries (the entries posted stay: they balance and are the books).
DROP FUNCTION reverse_manual_journal_entry(bigint, text, bigint, date);
DROP FUNCTION post_manual_journal_entry(date, text, jsonb, bigint);
DROP FUNCTION ledger_manual_amount(jsonb, text, integer);
DROP FUNCTION ledger_check_entry_date(date);

-- Section 3: no must_change_password (its column privilege goes with it).
REVOKE UPDATE (must_change_password) ON users FROM astrofin_app;
ALTER TABLE users DROP COLUMN must_change_password;

-- Section 2: no phone suffix index.
DROP INDEX IF EXISTS customers_phone_reverse_idx;

-- Section 1: ledger_schedule_rows as 0002 wrote it (the schedule math in line, no 0.00 check);
-- the helpers go. The loans repaired on the way up keep their shorter schedules and terms.

CREATE OR REPLACE FUNCTION ledger_schedule_rows(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                     p_frequency text, p_first_date date)
RETURNS TABLE(installment_number integer, due_date date, principal_due numeric, interest_due numeric,
              total_due numeric, balance_after numeric)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_ppy          integer;
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

    IF p_method = 'declining_balance' THEN
        IF p_rate = 0 THEN
            v_emi := round(p_principal / p_term, 2);
        ELSE
            v_r := p_rate::numeric(40, 30) / (100 * v_ppy);
            v_emi := round(p_principal * v_r / (1 - power(1 + v_r, -p_term)), 2);
        END IF;
        FOR k IN 1 .. p_term LOOP
            v_i := round(v_balance * p_rate / (100 * v_ppy), 2);
            IF k = p_term THEN
                v_p := v_balance;                       -- the last installment takes what is still owed
            ELSE
                -- Never more than is owed (only reachable with a few cents over many installments).
                v_p := least(greatest(v_emi - v_i, 0), v_balance);
            END IF;
            v_balance := v_balance - v_p;
            installment_number := k;
            due_date := ledger_due_date(p_first_date, p_frequency, k);
            principal_due := v_p;
            interest_due := v_i;
            total_due := v_p + v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    ELSE
        v_interest_all := round(p_principal * p_rate * p_term / (100 * v_ppy), 2);
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
            due_date := ledger_due_date(p_first_date, p_frequency, k);
            principal_due := v_p;
            interest_due := v_i;
            total_due := v_p + v_i;
            balance_after := v_balance;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

DROP FUNCTION ledger_longest_working_term(numeric, numeric, text, integer, integer);
DROP FUNCTION ledger_schedule_zero_installments(numeric, numeric, text, integer, integer);
DROP FUNCTION ledger_schedule_amounts(numeric, numeric, text, integer, integer);
