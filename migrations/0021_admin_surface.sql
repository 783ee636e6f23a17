-- Issue 20 (operator surface): tariffs managed over REST keep their history.
-- A tariff row that priced a session is never repriced: a price change ends it and opens a
-- successor (replaces_id); a delete ends it (deleted_at) and keeps the row for the sessions.
ALTER TABLE tariffs ADD COLUMN name text;
ALTER TABLE tariffs ADD COLUMN replaces_id uuid REFERENCES tariffs (id);
ALTER TABLE tariffs ADD COLUMN deleted_at timestamptz;
-- "has this tariff priced a session" (edit/delete rules) without a scan of transactions
CREATE INDEX transactions_tariff ON transactions (tariff_id) WHERE tariff_id IS NOT NULL;
-- the dashboard's "today" figures read sessions by their end time
CREATE INDEX transactions_ended ON transactions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX v2g_compensations_paid ON v2g_compensations (paid_at) WHERE paid_at IS NOT NULL;

-- Each node stores a summary of its live tree every [operator] node_report_s, so any node can
-- answer the dashboard's per-node figures without walking the other nodes' trees.
CREATE TABLE node_status (
    name              text PRIMARY KEY,
    started_at        timestamptz NOT NULL,
    seen_at           timestamptz NOT NULL,
    stations          integer NOT NULL DEFAULT 0,
    mailbox_depth_max integer NOT NULL DEFAULT 0
);
-- Every start of a node process (the "node restarting repeatedly" alert rule counts them).
CREATE TABLE node_starts (
    name       text NOT NULL,
    started_at timestamptz NOT NULL,
    PRIMARY KEY (name, started_at)
);
-- the alert rules look for an alert of a kind opened for a station since a time
CREATE INDEX alerts_station_kind ON alerts (charge_point_id, kind, created_at);
