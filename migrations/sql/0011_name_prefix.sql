-- Name search as a cashier types (db/repositories/customers.py): a fragment of two or three characters
-- matches the customers whose surname or first name starts with it. Surnames starting with it are a range of
-- customers_last_name_idx (lower(last_name), lower(first_name), id). These two indexes put the first names
-- starting with it in one range each, in the same result order after the first column, so every part of the
-- answer is an index range already in (last name, first name, id) order: a page is a merge of a few index
-- scans, never a sort or a filtering walk of a big set.
CREATE INDEX customers_first_name_prefix2_idx ON customers
    (lower(left(first_name, 2)), lower(last_name), lower(first_name), id);
CREATE INDEX customers_first_name_prefix3_idx ON customers
    (lower(left(first_name, 3)), lower(last_name), lower(first_name), id);
