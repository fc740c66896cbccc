DROP FUNCTION waive_charge(bigint, numeric, text, bigint);
DROP FUNCTION loan_charge_unpaid(bigint);
DROP FUNCTION apply_overdue_penalties(date, bigint);
DROP FUNCTION penalty_occurrences(date, bigint[]);
DROP TABLE loan_charges;
DROP FUNCTION loan_charges_take_branch();
