-- 0017 firmware jobs as actors (issue 17): each firmware_updates row is a FirmwareJob actor's
-- state (lease-owned by one node, resumed from here after a restart); campaigns over a fleet;
-- PublishFirmware status reports of local controllers.

CREATE SEQUENCE firmware_request_ids AS integer START 1000;

CREATE TABLE firmware_campaigns (
    id                          uuid PRIMARY KEY,
    location                    text NOT NULL,
    version                     text NOT NULL,
    signing_certificate         text,
    signature                   text,
    station_ids                 text[] NOT NULL,
    filter                      jsonb,
    max_concurrent              integer NOT NULL CHECK (max_concurrent BETWEEN 1 AND 10000),
    failure_threshold_percent   integer NOT NULL
                                CHECK (failure_threshold_percent BETWEEN 0 AND 100),
    retries                     integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    retry_interval_s            integer NOT NULL DEFAULT 60 CHECK (retry_interval_s > 0),
    status                      text NOT NULL DEFAULT 'Running'
                                CHECK (status IN ('Running', 'Paused', 'Cancelled', 'Stopped',
                                                  'Completed')),
    stop_reason                 text,
    created_by                  text,
    owner_node                  text,
    lease_until                 timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    ended_at                    timestamptz
);
CREATE INDEX firmware_campaigns_live ON firmware_campaigns (lease_until)
    WHERE status IN ('Running', 'Paused');

ALTER TABLE firmware_updates DROP CONSTRAINT firmware_updates_status_check;
ALTER TABLE firmware_updates ADD CONSTRAINT firmware_updates_status_check CHECK (status IN (
    'Requested', 'Accepted', 'Rejected', 'Cancelled', 'Retrying', 'Completed', 'Failed',
    'Downloaded', 'DownloadFailed', 'Downloading', 'DownloadScheduled', 'DownloadPaused',
    'Idle', 'InstallationFailed', 'Installing', 'Installed', 'InstallRebooting',
    'InstallScheduled', 'InstallVerificationFailed', 'InvalidSignature', 'SignatureVerified'));
ALTER TABLE firmware_updates
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN history         jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN station_status  text,
    ADD COLUMN deadline        timestamptz,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN campaign_id     uuid REFERENCES firmware_campaigns (id),
    ADD COLUMN requested_by    text,
    ADD COLUMN owner_node      text,
    ADD COLUMN lease_until     timestamptz;
CREATE INDEX firmware_updates_live ON firmware_updates (lease_until)
    WHERE status NOT IN ('Completed', 'Failed', 'Cancelled', 'Rejected');
CREATE INDEX firmware_updates_campaign ON firmware_updates (campaign_id, status)
    WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX firmware_updates_one_per_campaign_station
    ON firmware_updates (campaign_id, charge_point_id) WHERE campaign_id IS NOT NULL;

CREATE TABLE firmware_publications (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    request_id      integer NOT NULL,
    status          text NOT NULL,
    locations       text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, request_id)
);
