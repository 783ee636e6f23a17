-- 0014 V2G autoDischarge plans: an optimized plan stored for a user with autoDischarge on, whose
-- runs a periodic job starts as discharge sessions (claimed with FOR UPDATE SKIP LOCKED).
CREATE TABLE v2g_plans (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id         integer NOT NULL CHECK (evse_id > 0),
    transaction_id  uuid NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    windows         jsonb NOT NULL,
    min_soc         smallint NOT NULL CHECK (min_soc BETWEEN 0 AND 100),
    departure_at    timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'planned'
                    CHECK (status IN ('planned', 'started', 'cancelled', 'expired')),
    next_run        integer NOT NULL DEFAULT 0 CHECK (next_run >= 0),
    next_start_at   timestamptz,
    session_ids     uuid[] NOT NULL DEFAULT '{}',
    last_error      text,
    cancel_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (status IN ('planned', 'started') OR next_start_at IS NULL)
);
-- the job's due scan, a user's list, and one live plan per transaction
CREATE INDEX v2g_plans_due ON v2g_plans (next_start_at) WHERE status IN ('planned', 'started');
CREATE INDEX v2g_plans_user ON v2g_plans (user_id, created_at DESC);
CREATE UNIQUE INDEX v2g_plans_one_live ON v2g_plans (transaction_id)
    WHERE status IN ('planned', 'started');
CREATE TRIGGER v2g_plans_touch BEFORE UPDATE ON v2g_plans
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();
