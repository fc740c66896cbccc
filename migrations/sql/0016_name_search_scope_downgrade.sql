DROP FUNCTION customer_name_matches(text, boolean, integer);
