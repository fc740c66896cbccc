-- Revision 0013: what branch staff found at the counter (schedules, phones, passwords, manual journal entries).

------------------------------------------------------------------------------------------------------
-- 1. A schedule never holds installments of 0.00.
--
-- At high rates and long terms the rounded installment repays the loan before its last installment, and the
-- rows after that owe 0.00 and stay pending for ever (1,000.00 at 99.99 %, 104 monthly: two such rows;
-- 5,000.00 at 60 %, 520 biweekly: 86). The schedule math now lives in ledger_schedule_amounts (amounts only,
-- no dates, no checks); ledger_schedule_rows checks the terms, refuses terms whose schedule would hold an
-- installment of 0.00 with the longest shorter term that works, and lays the amounts on their due dates.
-- preview_payment_schedule and generate_payment_schedule (and the scale seed) read ledger_schedule_rows, so
-- every schedule goes through the one check.
------------------------------------------------------------------------------------------------------

-- Installment amounts by domain.md, without checks: the one implementation of the schedule math.
CREATE FUNCTION ledger_schedule_amounts(p_principal numeric, p_rate numeric, p_method text, p_term integer,
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

-- How many installments of 0.00 the schedule of these terms would hold.
CREATE FUNCTION ledger_schedule_zero_installments(p_principal numeric, p_rate numeric, p_method text,
                                                  p_term integer, p_periods_per_year integer)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT count(*)::integer
      FROM ledger_schedule_amounts(p_principal, p_rate, p_method, p_term, p_periods_per_year) a
     WHERE a.principal_due + a.interest_due = 0
$$;

-- The longest term below p_term whose schedule holds no installment of 0.00 (one installment always works:
-- it is the whole principal).
CREATE FUNCTION ledger_longest_working_term(p_principal numeric, p_rate numeric, p_method text, p_term integer,
                                            p_periods_per_year integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer;
BEGIN
    FOR n IN REVERSE p_term - 1 .. 2 LOOP
        IF ledger_schedule_zero_installments(p_principal, p_rate, p_method, n, p_periods_per_year) = 0 THEN
            RETURN n;
        END IF;
    END LOOP;
    RETURN 1;
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

REVOKE EXECUTE ON FUNCTION
    ledger_schedule_amounts(numeric, numeric, text, integer, integer),
    ledger_schedule_zero_installments(numeric, numeric, text, integer, integer),
    ledger_longest_working_term(numeric, numeric, text, integer, integer)
FROM PUBLIC;

-- Loans already disbursed with such a schedule: their installments of 0.00 are the tail after the one that
-- repaid the loan (once the balance is 0 every later row owes 0.00), and nothing was ever paid on them. They
-- are deleted and the loan's term becomes the installments it really has, so a closed loan has no unpaid
-- installment and its days past due are 0. The schedule triggers refresh the loans' summary columns and audit
-- every change. (record_loan_payment closed such a loan when the real installments were paid: it compares the
-- payment with the amount owed, to which the 0.00 rows add nothing, so no open loan owes only 0.00 rows.)
UPDATE loans l
   SET term = z.kept
  FROM (SELECT s.loan_id, count(*) FILTER (WHERE NOT (s.total_due = 0 AND s.total_paid = 0))::integer AS kept
          FROM payment_schedules s
         GROUP BY s.loan_id
        HAVING bool_or(s.total_due = 0 AND s.total_paid = 0)) z
 WHERE l.id = z.loan_id;

DELETE FROM payment_schedules s WHERE s.total_due = 0 AND s.total_paid = 0;

------------------------------------------------------------------------------------------------------
-- 2. Customer search by the last digits of a phone (db/repositories/customers.py): from six digits typed,
-- the customers whose phone ends with them. Phones are stored in E.164 (+254712345678); the suffix is a
-- left-anchored LIKE on the reversed phone, one range of this index (text_pattern_ops: byte order, so the
-- range holds whatever the database's collation).
------------------------------------------------------------------------------------------------------
CREATE INDEX customers_phone_reverse_idx ON customers (reverse(phone) text_pattern_ops);

------------------------------------------------------------------------------------------------------
-- 3. Passwords: an administrator's reset makes the next sign-in ask for a new password, which the person
-- sets themselves (db/repositories/auth.py, change_own_password). That change runs on the login role, as
-- sign-in does, which may already write password_hash; it may now also clear the flag.
------------------------------------------------------------------------------------------------------
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
GRANT UPDATE (must_change_password) ON users TO astrofin_app;
