-- 0022 operator reports (background jobs, file kept in the row) and the station online history
-- that the uptime report reads.

CREATE TABLE reports (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL CHECK (kind IN ('energy', 'revenue', 'v2g', 'transactions',
                                                'uptime')),
    group_by      text NOT NULL CHECK (group_by IN ('day', 'station', 'location')),
    format        text NOT NULL CHECK (format IN ('csv', 'pdf')),
    from_at       timestamptz NOT NULL,
    to_at         timestamptz NOT NULL,
    timezone      text NOT NULL DEFAULT 'UTC',
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    source_rows   bigint,
    row_count     bigint,
    preview       jsonb,
    file          bytea,
    error         text,
    attempts      integer NOT NULL DEFAULT 0,
    node          text,
    requested_by  uuid,  -- the user who asked (no FK: like the audit log, it outlives the user)
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (to_at > from_at),
    CHECK (status <> 'done' OR file IS NOT NULL)
);
CREATE INDEX reports_unfinished ON reports (updated_at) WHERE status IN ('queued', 'running');
CREATE TRIGGER reports_touch BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Each change of charge_points.online, written by trigger (no FK: a deleted station keeps its
-- history). `changed_at` is the station's last_seen at the change (its boot or its last sign
-- of life), else the time of the write.
CREATE TABLE station_status_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id text NOT NULL,
    online          boolean NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX station_status_log_station ON station_status_log (charge_point_id, changed_at);
CREATE INDEX station_status_log_at ON station_status_log (changed_at);

CREATE FUNCTION station_status_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO station_status_log (charge_point_id, online, changed_at)
    VALUES (NEW.id, NEW.online, coalesce(NEW.last_seen, now()));
    RETURN NULL;
END $$;
CREATE TRIGGER charge_points_online_insert AFTER INSERT ON charge_points
    FOR EACH ROW EXECUTE FUNCTION station_status_log_write();
CREATE TRIGGER charge_points_online_change AFTER UPDATE OF online ON charge_points
    FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online)
    EXECUTE FUNCTION station_status_log_write();

INSERT INTO station_status_log (charge_point_id, online, changed_at)
SELECT id, online, now() FROM charge_points;
