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

-- Installment amounts by docs/database.md "Schedules", without checks: the one implementation of the schedule math.
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

------------------------------------------------------------------------------------------------------
-- 4. Manual journal entries for accountants (docs/database.md "Manual journal entries"): balanced, dated, described, audited
-- (the journal tables' audit triggers), never edited (their immutability triggers), corrected only by a
-- mirrored reversal. A manual entry is one with no loan transaction and that reverses nothing. Each refusal
-- names the field it belongs to (COLUMN = entry_date, description, lines, reason), which the repository turns
-- into a message beside it.
------------------------------------------------------------------------------------------------------

-- The date of a manual entry or of its reversal: given, and not in the future.
CREATE FUNCTION ledger_check_entry_date(p_entry_date date) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_entry_date IS NULL THEN
        RAISE EXCEPTION 'The entry date is missing' USING ERRCODE = 'P0107', COLUMN = 'entry_date';
    END IF;
    IF p_entry_date > current_date THEN
        RAISE EXCEPTION 'The entry date % is in the future; post it on or after that day', p_entry_date
            USING ERRCODE = 'P0104', COLUMN = 'entry_date';
    END IF;
END $$;

-- An amount of one line, as the lines' JSON gives it ("150.00", 150, null or absent): NULL when absent or 0,
-- refused when it is not a positive amount in whole cents within NUMERIC(14,2).
CREATE FUNCTION ledger_manual_amount(p_line jsonb, p_key text, p_number integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_raw    text := nullif(btrim(p_line->>p_key), '');
    v_amount numeric;
BEGIN
    IF v_raw IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        v_amount := v_raw::numeric;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'Line %: the % amount "%" is not a number', p_number, p_key, v_raw
            USING ERRCODE = 'P0103', COLUMN = 'lines';
    END;
    IF v_amount = 0 THEN
        RETURN NULL;
    END IF;
    IF v_amount = 'NaN'::numeric OR v_amount < 0 OR v_amount <> round(v_amount, 2)
       OR v_amount > 999999999999.99 THEN
        RAISE EXCEPTION 'Line %: the % amount % must be more than zero with at most two decimals (at most '
                        '999,999,999,999.99)', p_number, p_key, v_raw USING ERRCODE = 'P0103', COLUMN = 'lines';
    END IF;
    RETURN v_amount;
END $$;

CREATE FUNCTION post_manual_journal_entry(p_entry_date date, p_description text, p_lines jsonb, p_created_by bigint)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_entry   bigint;
    v_line    jsonb;
    v_number  integer := 0;
    v_code    text;
    v_account chart_of_accounts%ROWTYPE;
    v_debit   numeric;
    v_credit  numeric;
    v_memo    text;
    v_debits  numeric := 0;
    v_credits numeric := 0;
    v_checked jsonb := '[]'::jsonb;
BEGIN
    PERFORM ledger_require_actor(p_created_by, ARRAY['accountant'], 'post a manual journal entry');
    PERFORM ledger_check_entry_date(p_entry_date);
    IF p_description IS NULL OR btrim(p_description) = '' THEN
        RAISE EXCEPTION 'Say what the entry is for: the description is empty' USING ERRCODE = 'P0107',
            COLUMN = 'description';
    END IF;
    IF length(btrim(p_description)) > 500 OR btrim(p_description) ~ '[\x01-\x1f\x7f]' THEN
        RAISE EXCEPTION 'The description has at most 500 characters, without tabs, line breaks or escapes'
            USING ERRCODE = 'P0107', COLUMN = 'description';
    END IF;
    IF p_lines IS NULL OR jsonb_typeof(p_lines) <> 'array' OR jsonb_array_length(p_lines) < 2 THEN
        RAISE EXCEPTION 'An entry needs at least two lines (got %)',
            CASE WHEN jsonb_typeof(p_lines) = 'array' THEN jsonb_array_length(p_lines) ELSE 0 END
            USING ERRCODE = 'P0107', COLUMN = 'lines';
    END IF;

    -- Every line is checked before anything is written.
    FOR v_line IN SELECT l.value FROM jsonb_array_elements(p_lines) l LOOP
        v_number := v_number + 1;
        IF jsonb_typeof(v_line) <> 'object' THEN
            RAISE EXCEPTION 'Line % is not an account with a debit or a credit', v_number
                USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        v_code := nullif(btrim(v_line->>'account_code'), '');
        IF v_code IS NULL THEN
            RAISE EXCEPTION 'Line %: which account? The account code is missing', v_number
                USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        SELECT * INTO v_account FROM chart_of_accounts a WHERE a.account_code = v_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Line %: there is no account % in the chart of accounts', v_number, v_code
                USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        IF NOT v_account.is_active THEN
            RAISE EXCEPTION 'Line %: account % (%) is inactive; post to an active account', v_number, v_code,
                v_account.account_name USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        v_debit := ledger_manual_amount(v_line, 'debit', v_number);
        v_credit := ledger_manual_amount(v_line, 'credit', v_number);
        IF v_debit IS NOT NULL AND v_credit IS NOT NULL THEN
            RAISE EXCEPTION 'Line % (account %) has both a debit and a credit; a line is one or the other',
                v_number, v_code USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        IF v_debit IS NULL AND v_credit IS NULL THEN
            RAISE EXCEPTION 'Line % (account %) has neither a debit nor a credit', v_number, v_code
                USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        v_memo := nullif(btrim(coalesce(v_line->>'memo', '')), '');
        IF length(v_memo) > 200 OR v_memo ~ '[\x01-\x1f\x7f]' THEN
            RAISE EXCEPTION 'Line %: the memo has at most 200 characters, without tabs, line breaks or escapes',
                v_number USING ERRCODE = 'P0107', COLUMN = 'lines';
        END IF;
        v_debits := v_debits + coalesce(v_debit, 0);
        v_credits := v_credits + coalesce(v_credit, 0);
        v_checked := v_checked || jsonb_build_array(jsonb_build_object(
            'account_id', v_account.id, 'debit', coalesce(v_debit, 0), 'credit', coalesce(v_credit, 0),
            'memo', v_memo));
    END LOOP;
    IF v_debits <> v_credits THEN
        RAISE EXCEPTION 'The entry does not balance: debits %, credits % (a difference of %)',
            ledger_money(v_debits), ledger_money(v_credits), ledger_money(abs(v_debits - v_credits))
            USING ERRCODE = 'P0103', COLUMN = 'lines';
    END IF;

    INSERT INTO journal_entries (entry_date, description, created_by)
    VALUES (p_entry_date, btrim(p_description), p_created_by)
    RETURNING id INTO v_entry;
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    SELECT v_entry, (c.value->>'account_id')::bigint, (c.value->>'debit')::numeric, (c.value->>'credit')::numeric,
           c.value->>'memo'
      FROM jsonb_array_elements(v_checked) WITH ORDINALITY AS c(value, n)
     ORDER BY c.n;
    RETURN v_entry;
END $$;

CREATE FUNCTION reverse_manual_journal_entry(p_entry_id bigint, p_reason text, p_reversed_by bigint,
                                             p_entry_date date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_original journal_entries%ROWTYPE;
    v_date     date := coalesce(p_entry_date, current_date);
    v_later    text;
    v_entry    bigint;
BEGIN
    PERFORM ledger_require_actor(p_reversed_by, ARRAY['accountant'], 'reverse a manual journal entry');
    IF p_entry_id IS NULL THEN
        RAISE EXCEPTION 'Which entry? The journal entry id is missing' USING ERRCODE = 'P0107';
    END IF;
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'Say why the entry is reversed: the reason is empty' USING ERRCODE = 'P0107',
            COLUMN = 'reason';
    END IF;
    IF length(btrim(p_reason)) > 400 OR btrim(p_reason) ~ '[\x01-\x1f\x7f]' THEN
        RAISE EXCEPTION 'The reason has at most 400 characters, without tabs, line breaks or escapes'
            USING ERRCODE = 'P0107', COLUMN = 'reason';
    END IF;
    PERFORM ledger_check_entry_date(v_date);
    -- Two reversals of one entry at once queue here; the second then finds the first.
    SELECT * INTO v_original FROM journal_entries e WHERE e.id = p_entry_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Journal entry % does not exist', p_entry_id USING ERRCODE = 'P0101';
    END IF;
    IF v_original.transaction_id IS NOT NULL THEN
        RAISE EXCEPTION 'Journal entry % was posted by a loan transaction; reverse the transaction instead',
            v_original.entry_number USING ERRCODE = 'P0102';
    END IF;
    IF v_original.reverses_entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'Journal entry % is itself a reversal; post a new entry instead of reversing it',
            v_original.entry_number USING ERRCODE = 'P0102';
    END IF;
    SELECT e.entry_number INTO v_later FROM journal_entries e WHERE e.reverses_entry_id = p_entry_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Journal entry % was already reversed by %', v_original.entry_number, v_later
            USING ERRCODE = 'P0102';
    END IF;
    IF v_date < v_original.entry_date THEN
        RAISE EXCEPTION 'A reversal cannot be dated %, before the entry % it reverses (%)', v_date,
            v_original.entry_number, v_original.entry_date USING ERRCODE = 'P0104', COLUMN = 'entry_date';
    END IF;

    INSERT INTO journal_entries (entry_date, description, reverses_entry_id, created_by)
    VALUES (v_date, left('Reversal of ' || v_original.entry_number || ': ' || btrim(p_reason), 500), p_entry_id,
            p_reversed_by)
    RETURNING id INTO v_entry;
    INSERT INTO journal_entry_details (journal_entry_id, account_id, debit, credit, description)
    SELECT v_entry, d.account_id, d.credit, d.debit, d.description
      FROM journal_entry_details d WHERE d.journal_entry_id = p_entry_id ORDER BY d.id;
    RETURN v_entry;
END $$;

REVOKE EXECUTE ON FUNCTION
    ledger_check_entry_date(date),
    ledger_manual_amount(jsonb, text, integer),
    post_manual_journal_entry(date, text, jsonb, bigint),
    reverse_manual_journal_entry(bigint, text, bigint, date)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    post_manual_journal_entry(date, text, jsonb, bigint),
    reverse_manual_journal_entry(bigint, text, bigint, date)
TO astrofin_accountant;
