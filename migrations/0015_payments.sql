-- 0015 payments (issue #16): the payment lifecycle's states, refunded amounts and refunds.
-- Statuses follow sigec_actors/payments/lifecycle.py; 'fake' is the embedded Stripe-compatible
-- fake provider and 'brcode' a PIX BR Code issued without a PSP.

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
UPDATE payments SET status = 'requires_action' WHERE status = 'pending';
UPDATE payments SET status = 'canceled' WHERE status = 'cancelled';
ALTER TABLE payments ALTER COLUMN status SET DEFAULT 'requires_action';
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('requires_action', 'processing', 'succeeded', 'failed', 'canceled',
                      'refunded', 'partially_refunded'));
ALTER TABLE payments ADD CONSTRAINT payments_provider_check
    CHECK (provider IN ('stripe', 'fake', 'brcode', 'pix', 'boleto', 'internal'));
ALTER TABLE payments ADD COLUMN refunded_centavos bigint NOT NULL DEFAULT 0;
ALTER TABLE payments ADD CONSTRAINT payments_refund_bound
    CHECK (refunded_centavos >= 0 AND refunded_centavos <= amount_centavos);
-- Money announced and not received yet (the wallet's pendingCentavos).
CREATE INDEX payments_open ON payments (user_id) WHERE status IN ('requires_action', 'processing');
-- Reconciliation walks the recent payments of a provider.
CREATE INDEX payments_provider_recent ON payments (provider, created_at);

-- One row per refund asked (partial or full); the wallet is debited when it is asked and
-- credited back if the provider refuses it.
CREATE TABLE payment_refunds (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_id         uuid NOT NULL REFERENCES payments (id),
    amount_centavos    bigint NOT NULL CHECK (amount_centavos > 0),
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_refund_id text,
    requested_by       uuid REFERENCES users (id),
    failure_reason     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id, created_at);
CREATE TRIGGER payment_refunds_touch BEFORE UPDATE ON payment_refunds
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();
