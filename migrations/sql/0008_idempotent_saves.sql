-- Idempotent saves: a customer and a loan application carry the key their form made when it opened, as
-- a payment does (transactions.idempotency_key). A save whose reply was lost (the connection dropped after
-- the commit) is retried with the same key and returns the row the first save wrote instead of a second
-- customer or a second application. The keys are unique where present; rows written before this revision,
-- by the seed and by the bulk loader have none.

ALTER TABLE customers
    ADD COLUMN idempotency_key text
        CONSTRAINT customers_idempotency_key_check
        CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX customers_idempotency_key_key ON customers (idempotency_key) WHERE idempotency_key IS NOT NULL;

ALTER TABLE loans
    ADD COLUMN idempotency_key text
        CONSTRAINT loans_idempotency_key_check
        CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX loans_idempotency_key_key ON loans (idempotency_key) WHERE idempotency_key IS NOT NULL;
