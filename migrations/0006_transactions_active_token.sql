-- 0006 the authorization check of every Started looks for the token's active transactions
-- (ConcurrentTx): without this index that is a scan of the whole transactions table.
CREATE INDEX transactions_active_token ON transactions (id_token, id_token_type)
    WHERE status = 'Active';
