-- 0020 smart charging (issue 19): the charging profiles the CSMS set (and the station
-- reported), site power limits per location, external limits and the EVs' own schedules.

-- One row per profile on a station (OCPP profile ids are per station). `source` says who made
-- it: an operator through the API ('api'), a site's load balancing ('site'), an ISO 15118
-- charging-needs schedule ('ev') or the station itself ('station': ReportChargingProfiles of
-- a profile we did not set). `status` is the station's last word on it.
CREATE TABLE charging_profiles (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    profile_id      integer NOT NULL,
    evse_id         integer NOT NULL CHECK (evse_id >= 0),
    purpose         text NOT NULL,
    stack_level     integer NOT NULL CHECK (stack_level >= 0),
    kind            text NOT NULL,
    transaction_id  text,
    valid_from      timestamptz,
    valid_to        timestamptz,
    profile         jsonb NOT NULL,   -- the whole OCPP ChargingProfile as sent / reported
    source          text NOT NULL CHECK (source IN ('api', 'site', 'ev', 'station')),
    status          text NOT NULL,    -- Accepted | Rejected | Reported
    limit_source    text,             -- ReportChargingProfiles' chargingLimitSource
    reported_at     timestamptz,      -- last seen in a ReportChargingProfiles
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, profile_id)
);
CREATE INDEX charging_profiles_evse ON charging_profiles (charge_point_id, evse_id);

-- A location's connection limit: its site actor keeps the stations there under it.
CREATE TABLE site_limits (
    location_id     uuid PRIMARY KEY REFERENCES locations (id) ON DELETE CASCADE,
    grid_limit_w    bigint NOT NULL CHECK (grid_limit_w > 0),
    strategy        text NOT NULL CHECK (strategy IN ('fair', 'priority')),
    min_per_evse_w  bigint NOT NULL CHECK (min_per_evse_w >= 0),
    max_per_evse_w  bigint NOT NULL CHECK (max_per_evse_w > 0),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Limits set on a station by others (NotifyChargingLimit: EMS, grid operator, ...), until
-- the station reports them cleared; evse_id 0 is the whole station.
CREATE TABLE external_charging_limits (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id         integer NOT NULL CHECK (evse_id >= 0),
    limit_source    text NOT NULL,
    grid_critical   boolean,
    limit_w         bigint,           -- the first period's limit in W, when it says one
    schedules       jsonb,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, evse_id, limit_source)
);

-- What the car plans (NotifyEVChargingSchedule), the last one per EVSE.
CREATE TABLE ev_charging_schedules (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id         integer NOT NULL CHECK (evse_id >= 1),
    time_base       timestamptz NOT NULL,
    schedule        jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, evse_id)
);
