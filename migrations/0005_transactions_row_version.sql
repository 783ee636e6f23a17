-- 0005 transactions: updated_at as a row version, and room for HOT updates.
--
-- The TransactionEvent store writes a transaction row only if its updated_at is still the one
-- the writer read (optimistic concurrency, one statement, no lock round trips). That needs
-- updated_at to change on EVERY update, even two in the same microsecond or after the clock
-- stepped back: it becomes max(now(), previous + 1 µs), so it strictly increases per row.
CREATE FUNCTION sigec_touch_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
    RETURN NEW;
END $$;

DROP TRIGGER transactions_touch ON transactions;
CREATE TRIGGER transactions_touch BEFORE UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_row_version();

-- Every TransactionEvent rewrites its transaction's row; free space on the page lets most of
-- those be HOT updates (no new entries in the five indexes when no indexed column changes).
ALTER TABLE transactions SET (fillfactor = 75);
