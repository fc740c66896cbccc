-- Name search in the result order under row-level security. The policy on customers lets an index serve only
-- leakproof conditions, and lower() and left() are not leakproof: a range of lower(surname), or of the start of
-- the first name, could not be an index condition, so the page of a prefix ("Kim", "wa") or of a common fragment
-- read the branch (or the book) from the first name in the alphabet on, and the next pages again from there.
-- customer_name_page_ids reads the same index ranges as the owner, with the caller's branches as an explicit
-- condition, and returns the ids of at most p_limit + 1 customers after the keyset (p_after_*: the last row of the
-- previous page; NULL for the first page), in the order of the name index (lower(surname), lower(first name),
-- id). With p_officer, only the customers with a loan of that officer ("my clients"). The repository reads the
-- customers by id (an equality, which the policy does not hold back).
--
-- A person of one branch (a scope of one branch, as most staff have) reads the branch's own range of an index led
-- by branch_id: through an index of the whole book, a common name ("Wanjiru") of a branch of 5 % of the book
-- read 20 names of other branches for each of its own. Wider scopes (a branch with branches under it, head
-- office) read the book's indexes with the scope as a condition.

-- Each name index of the book gets its twin led by branch_id (customers_branch_idx's one column leads the first,
-- which takes its place).
DROP INDEX customers_branch_idx;
CREATE INDEX customers_branch_name_idx ON customers (branch_id, lower(last_name), lower(first_name), id);
CREATE INDEX customers_branch_first_name_prefix2_idx
    ON customers (branch_id, lower(left(first_name, 2)), lower(last_name), lower(first_name), id);
CREATE INDEX customers_branch_first_name_prefix3_idx
    ON customers (branch_id, lower(left(first_name, 3)), lower(last_name), lower(first_name), id);

-- One page of a part of the name search, as ids in the name order after the keyset:
--   surname_start     the surnames starting with p_text (lower case): the range [p_text, p_text || U+10FFFF) of
--                     the name index, which in code point order (the C.UTF-8 collation) is exactly those
--                     surnames (the repository calls it only in that order);
--   first_name_start  the first names starting with p_text (lower case, two or three characters) whose surname
--                     does not: one equality range of a first-name prefix index (lower(left(first name, n)),
--                     then the name order);
--   walk              the "first name surname" matching the pattern p_text (ILIKE, escaped by the caller), the
--                     name index walked in order: for a fragment too common for the trigram probe
--                     (customer_name_matches), where a page is found after a short walk.
-- The statement is put together from fixed fragments, the values bound, so that each call is planned for its
-- own: a surname range starts at p_text or, when the keyset lies inside the range, at the keyset alone (with
-- both, the index would start from the lower of the two), and one branch reads the twin index led by branch_id.
CREATE FUNCTION customer_name_page_ids(p_part text, p_text text, p_after_last text, p_after_first text,
                                       p_after_id bigint, p_limit integer, p_officer bigint DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_scope  bigint[] := astrofin_branch_scope();
    v_lead   text := '';
    v_where  text;
    v_ids    bigint[];
BEGIN
    IF p_text IS NULL OR p_text = '' OR p_limit IS NULL OR p_limit < 0 OR cardinality(v_scope) = 0 THEN
        RETURN '{}';
    END IF;
    IF p_part = 'surname_start' THEN
        v_where := 'lower(c.last_name) < $2 || U&''\+10FFFF''';
        IF p_after_id IS NULL OR p_after_last IS NULL OR p_after_last < p_text THEN
            -- Every surname of the range sorts after the keyset (the previous page ended in a first name part).
            v_where := v_where || ' AND lower(c.last_name) >= $2';
            p_after_id := NULL;
        END IF;
    ELSIF p_part = 'first_name_start' AND length(p_text) = 2 THEN
        v_lead := 'lower(left(c.first_name, 2)), ';
        v_where := 'lower(left(c.first_name, 2)) = $2';
    ELSIF p_part = 'first_name_start' AND length(p_text) = 3 THEN
        v_lead := 'lower(left(c.first_name, 3)), ';
        v_where := 'lower(left(c.first_name, 3)) = $2';
    ELSIF p_part = 'walk' THEN
        v_where := '((c.first_name || '' '') || c.last_name) ILIKE $2';
    ELSE
        RAISE EXCEPTION 'The name search has no part % for %', p_part, p_text USING ERRCODE = 'P0107';
    END IF;
    IF p_part = 'first_name_start' THEN
        v_where := v_where || ' AND NOT (lower(c.last_name) >= $2 AND lower(c.last_name) < $2 || U&''\+10FFFF'')';
    END IF;
    IF p_after_id IS NOT NULL THEN
        v_where := v_where || ' AND (lower(c.last_name), lower(c.first_name), c.id) > ($3, $4, $5)';
    END IF;
    IF p_officer IS NOT NULL THEN
        v_where := v_where || ' AND EXISTS (SELECT 1 FROM loans l WHERE l.customer_id = c.id AND l.loan_officer_id = $6)';
    END IF;
    IF cardinality(v_scope) = 1 THEN
        v_where := 'c.branch_id = $1[1] AND ' || v_where;
        v_lead := 'c.branch_id, ' || v_lead;
    ELSE
        v_where := 'c.branch_id = ANY ($1) AND ' || v_where;
    END IF;
    EXECUTE 'SELECT ARRAY(SELECT c.id FROM customers c WHERE ' || v_where || ' ORDER BY ' || v_lead
            || 'lower(c.last_name), lower(c.first_name), c.id LIMIT $7)'
       INTO v_ids
      USING v_scope, p_text, p_after_last, p_after_first, p_after_id, p_officer, p_limit + 1;
    RETURN v_ids;
END $$;

-- The customers whose phone ends with the digits typed (p_reversed: those digits reversed), at most p_limit: the
-- range of customers_phone_reverse_idx (reverse(phone), text_pattern_ops) that starts with them. reverse() is not
-- leakproof either, so under the policy this range, too, could not be an index condition: the national ID
-- search, which ORs it in, read every customer (1.7 s at the median at 1,000,000 for head office).
CREATE FUNCTION customer_phone_suffix_ids(p_reversed text, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_scope bigint[] := astrofin_branch_scope();
BEGIN
    IF p_reversed IS NULL OR p_reversed !~ '^[0-9]+$' OR p_limit IS NULL OR p_limit < 0 THEN
        RETURN '{}';
    END IF;
    -- Digits only: the character after the last one ends the range (':' follows '9').
    RETURN ARRAY(
        SELECT c.id FROM customers c
         WHERE reverse(c.phone) ~>=~ p_reversed
           AND reverse(c.phone) ~<~ (left(p_reversed, -1) || chr(ascii(right(p_reversed, 1)) + 1))
           AND c.branch_id = ANY (v_scope)
         LIMIT p_limit);
END $$;

REVOKE ALL ON FUNCTION customer_phone_suffix_ids(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_phone_suffix_ids(text, integer)
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;

REVOKE ALL ON FUNCTION customer_name_page_ids(text, text, text, text, bigint, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_name_page_ids(text, text, text, text, bigint, integer, bigint)
    TO astrofin_cashier, astrofin_loan_officer, astrofin_supervisor, astrofin_accountant, astrofin_admin;
