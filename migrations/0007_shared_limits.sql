-- 0007 rate limits and the deny-list shared by every node when no Redis is configured
-- (sigec_actors/adapters/pg_cache.py: logout, login lockout, handshake limits).
--
-- Fixed-window counters: one row per key, one upsert per hit. UNLOGGED (no WAL, no fsync per
-- hit): a PostgreSQL crash empties it, which only restarts the current windows. Expired rows
-- are ignored by every read and deleted by the nodes' periodic prune.
CREATE UNLOGGED TABLE rate_counters (
    key         text PRIMARY KEY,
    count       integer NOT NULL CHECK (count > 0),
    window_ends timestamptz NOT NULL
) WITH (fillfactor = 70);

-- Keys refused (or, for the ocpp:usual: namespace, remembered) until `until`: logged-out
-- access token ids, locked accounts, deny-listed addresses. Logged: a crash must not bring a
-- logged-out token back.
CREATE TABLE denied_keys (
    key   text PRIMARY KEY,
    until timestamptz NOT NULL
);
