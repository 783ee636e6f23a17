-- 0024 voice assistant (issue #23): every command a user spoke or typed, what was understood,
-- what happened and how long it took. An intent awaiting the user's yes/no is kept here too.
CREATE TABLE voice_commands (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel            text NOT NULL CHECK (channel IN ('rest', 'ws')),
    transcript         text NOT NULL,
    language           text NOT NULL,
    recognizer         text NOT NULL,
    intent             text,
    slots              jsonb NOT NULL DEFAULT '{}',
    confidence         real NOT NULL DEFAULT 0,
    outcome            text NOT NULL CHECK (outcome IN (
                           'done', 'failed', 'clarify', 'awaiting_confirmation',
                           'confirmed', 'cancelled', 'expired')),
    reply              text NOT NULL,
    result             jsonb,
    http_status        integer,
    confirms           uuid REFERENCES voice_commands (id) ON DELETE SET NULL,
    latency_ms         real NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voice_commands_user ON voice_commands (user_id, created_at DESC);
CREATE INDEX voice_commands_pending ON voice_commands (user_id, created_at DESC)
    WHERE outcome = 'awaiting_confirmation';
