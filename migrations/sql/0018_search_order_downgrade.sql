DROP FUNCTION customer_phone_suffix_ids(text, integer);
DROP FUNCTION customer_name_page_ids(text, text, text, text, bigint, integer, bigint);
DROP INDEX customers_branch_first_name_prefix3_idx;
DROP INDEX customers_branch_first_name_prefix2_idx;
DROP INDEX customers_branch_name_idx;
CREATE INDEX customers_branch_idx ON customers (branch_id);
