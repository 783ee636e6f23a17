-- 0016 payments keyed by the client's Idempotency-Key (issue #16, M4): a retry that runs again
-- (after a node died mid-request) finds the payment or refund the first attempt made.
CREATE UNIQUE INDEX payments_idempotency ON payments (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE payment_refunds ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX payment_refunds_idempotency ON payment_refunds (payment_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
