-- 0004 event outbox (relayed to NATS JetStream), audit log and operator alerts.

-- Events written in the same DB transaction as the change they describe; the relay publishes
-- them in `seq` order with Nats-Msg-Id = id and sets sent_at.
CREATE TABLE event_outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    subject    text NOT NULL CHECK (subject ~ '^[a-z0-9_-]+(\.[A-Za-z0-9_*:@|=+-]+)+$'),
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX event_outbox_unsent ON event_outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX event_outbox_sent ON event_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wake relays on other connections/nodes; one notification per inserting statement.
CREATE FUNCTION event_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sigec_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER event_outbox_notify AFTER INSERT ON event_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION event_outbox_notify();

-- Who did what to what; append-only.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'station', 'system')),
    actor_id    text,
    action      text NOT NULL,
    target_type text,
    target_id   text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip          inet,
    request_id  text
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, occurred_at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_type, actor_id, occurred_at DESC);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION sigec_reject_change();

-- Operator alerts; at most one open alert per dedupe key.
CREATE TABLE alerts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id text REFERENCES charge_points (id) ON DELETE CASCADE,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind            text NOT NULL,
    message         text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by uuid REFERENCES users (id),
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (dedupe_key)
    WHERE resolved_at IS NULL AND dedupe_key IS NOT NULL;
CREATE INDEX alerts_open ON alerts (created_at DESC) WHERE resolved_at IS NULL;
