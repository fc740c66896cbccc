-- Ledger, part 1: the columns and sequence the loan workflow adds, and the rules that keep the books
-- whole whichever client writes: posted money never changes, and every journal entry balances.

-- Who disbursed and who wrote off a loan, and why (approved_by/rejected_by are in 0001).
ALTER TABLE loans ADD COLUMN disbursed_by bigint REFERENCES users (id);
ALTER TABLE loans ADD COLUMN written_off_by bigint REFERENCES users (id);
ALTER TABLE loans ADD COLUMN write_off_reason text CHECK (write_off_reason IS NULL OR length(write_off_reason) <= 500);

-- Receipt numbers R-000001, R-000002 … (one branch per installation). A sequence never waits for
-- another session, so two cashiers never block each other on a receipt number; the price is that a
-- number taken by a transaction that later rolls back (a refused payment, a lost idempotency race) is
-- never reused: gaps come only from rolled-back transactions, never from a recorded payment.
CREATE SEQUENCE receipt_number_seq;

-- Posted money is never edited or deleted: corrections are reversals.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is posted and cannot be changed (% refused); record a reversal instead',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'P0108';
END $$;

CREATE TRIGGER transactions_immutable BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entry_details_immutable BEFORE UPDATE OR DELETE ON journal_entry_details
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entry_details_no_truncate BEFORE TRUNCATE ON journal_entry_details
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Double entry, checked at commit (an entry and its lines are written by several statements): every
-- entry has at least two lines and its debits equal its credits. SECURITY DEFINER because the check
-- runs at commit under the caller's role, which may not read the journal (a cashier).
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_entry  bigint;
    v_number text;
    v_lines  integer;
    v_debit  numeric;
    v_credit numeric;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        v_entry := NEW.id;
    ELSE
        v_entry := NEW.journal_entry_id;
    END IF;
    SELECT e.entry_number INTO v_number FROM journal_entries e WHERE e.id = v_entry;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT count(*), coalesce(sum(d.debit), 0), coalesce(sum(d.credit), 0)
      INTO v_lines, v_debit, v_credit
      FROM journal_entry_details d WHERE d.journal_entry_id = v_entry;
    IF v_lines < 2 THEN
        RAISE EXCEPTION 'Journal entry % has % line(s); an entry needs at least two', v_number, v_lines
            USING ERRCODE = 'P0108';
    END IF;
    IF v_debit <> v_credit THEN
        RAISE EXCEPTION 'Journal entry % does not balance: debits %, credits %', v_number, v_debit, v_credit
            USING ERRCODE = 'P0108';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_entry_details_balanced AFTER INSERT ON journal_entry_details
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
