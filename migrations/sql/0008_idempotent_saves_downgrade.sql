-- Undo revision 0007: the keys of customers and loans go (their unique indexes go with them).
ALTER TABLE loans DROP COLUMN idempotency_key;
ALTER TABLE customers DROP COLUMN idempotency_key;
