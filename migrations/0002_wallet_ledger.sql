-- 0002 money: a double-entry ledger (accounts, journal entries, postings), payments,
-- idempotency keys (Stripe model) and processed provider webhooks.
-- Sign convention: a posting adds amount_centavos to its account's balance; the postings of
-- one journal entry sum to zero (enforced at commit by a deferred constraint trigger).

CREATE TABLE ledger_accounts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind             text NOT NULL CHECK (kind IN ('user_wallet', 'user_receivable',
                         'platform_revenue', 'psp_clearing', 'v2g_payable', 'refunds')),
    user_id          uuid REFERENCES users (id),
    currency         char(3) NOT NULL DEFAULT 'BRL',
    allow_negative   boolean NOT NULL,
    -- Running sum of postings, kept by trigger so the no-overdraw rule is a row-locked CHECK;
    -- the authoritative balance is sum(postings.amount_centavos) (see ledger_balance_drift).
    balance_centavos bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_no_overdraw CHECK (allow_negative OR balance_centavos >= 0),
    CHECK ((kind IN ('user_wallet', 'user_receivable')) = (user_id IS NOT NULL))
);
CREATE UNIQUE INDEX ledger_accounts_user_kind ON ledger_accounts (user_id, kind, currency)
    WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_accounts_system_kind ON ledger_accounts (kind, currency)
    WHERE user_id IS NULL;

-- One journal entry per source event: (source_type, source_id) is unique, e.g.
-- ('charging_session', 'CP01/tx-42'), ('stripe_event', 'evt_...'), ('v2g_compensation', uuid).
CREATE TABLE journal_entries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_type text NOT NULL CHECK (length(source_type) BETWEEN 1 AND 64),
    source_id   text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 255),
    currency    char(3) NOT NULL DEFAULT 'BRL',
    description text NOT NULL DEFAULT '',
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journal_entries_source_key UNIQUE (source_type, source_id)
);

CREATE TABLE postings (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
    account_id       uuid NOT NULL REFERENCES ledger_accounts (id),
    amount_centavos  bigint NOT NULL CHECK (amount_centavos <> 0),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postings_entry ON postings (journal_entry_id);
CREATE INDEX postings_account ON postings (account_id, id);

-- Entries and postings are immutable: corrections are new, reversing entries.
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION sigec_reject_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION sigec_reject_change();

-- Keep the running balance; the CHECK on ledger_accounts rejects an overdraw at once, and the
-- row lock taken by this UPDATE serialises concurrent debits of one account.
CREATE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry_currency char(3);
    account_currency char(3);
BEGIN
    SELECT currency INTO entry_currency FROM journal_entries WHERE id = NEW.journal_entry_id;
    UPDATE ledger_accounts SET balance_centavos = balance_centavos + NEW.amount_centavos
        WHERE id = NEW.account_id RETURNING currency INTO account_currency;
    IF account_currency IS DISTINCT FROM entry_currency THEN
        RAISE EXCEPTION 'posting currency % does not match entry currency %',
            account_currency, entry_currency USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_apply AFTER INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting();

-- At commit: every touched entry has >= 2 postings that sum to zero.
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry uuid;
    total numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        entry := NEW.id;
    ELSE
        entry := NEW.journal_entry_id;
    END IF;
    SELECT coalesce(sum(amount_centavos), 0), count(*) INTO total, n
        FROM postings WHERE journal_entry_id = entry;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced (sum %, % postings)', entry, total, n
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'journal_entry_balanced';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_entry_balanced_on_entry AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_entry_balanced_on_posting AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

-- Accounts whose cached balance differs from the sum of their postings (must be empty).
CREATE VIEW ledger_balance_drift AS
    SELECT a.id, a.balance_centavos, coalesce(sum(p.amount_centavos), 0) AS posted_centavos
    FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
    GROUP BY a.id
    HAVING a.balance_centavos <> coalesce(sum(p.amount_centavos), 0);

-- Money in from a PSP (Stripe card, PIX, boleto) or out; one row per provider payment id.
CREATE TABLE payments (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL REFERENCES users (id),
    provider            text NOT NULL CHECK (provider IN ('stripe', 'pix', 'boleto', 'internal')),
    provider_payment_id text,
    method              text NOT NULL CHECK (method IN ('card', 'pix', 'boleto', 'wallet')),
    direction           text NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out')),
    amount_centavos     bigint NOT NULL CHECK (amount_centavos > 0),
    currency            char(3) NOT NULL DEFAULT 'BRL',
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'requires_action', 'succeeded', 'failed',
                                          'cancelled', 'refunded')),
    idempotency_key     text,
    journal_entry_id    uuid REFERENCES journal_entries (id),
    failure_reason      text,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_payment_id)
);
CREATE INDEX payments_user ON payments (user_id, created_at DESC);
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Provider webhook events already processed (Stripe evt_..., PIX endToEndId, boleto id);
-- inserted in the same DB transaction as the ledger posting they cause.
CREATE TABLE processed_webhooks (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- Idempotency keys for money-moving POSTs (Stripe model): the first request claims the key
-- (locked_at set), the stored status/body answer every retry with the same request hash.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_method  text NOT NULL,
    request_path    text NOT NULL,
    request_hash    bytea NOT NULL,
    locked_at       timestamptz,
    recovery_point  text NOT NULL DEFAULT 'started',
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
