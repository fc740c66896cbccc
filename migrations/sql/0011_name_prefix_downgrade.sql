-- Back to 0009: two- and three-character fragments are substring matches again (no first-name prefix index).
DROP INDEX IF EXISTS customers_first_name_prefix3_idx;
DROP INDEX IF EXISTS customers_first_name_prefix2_idx;
