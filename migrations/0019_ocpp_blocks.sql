-- OCPP 2.0.1 functional blocks D, O, J (issue 18): local authorization list versions,
-- display messages (set by us or reported by the station) and meter values sent outside
-- transactions (MeterValuesRequest; transaction meter values stay with the transaction).

CREATE TABLE station_local_lists (
    charge_point_id text PRIMARY KEY REFERENCES charge_points (id) ON DELETE CASCADE,
    version         integer NOT NULL CHECK (version >= 0),
    size            integer NOT NULL CHECK (size >= 0),
    update_type     text CHECK (update_type IN ('Full', 'Differential')),
    entries         jsonb NOT NULL DEFAULT '[]',  -- [[idToken, type], ...] the station holds
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE station_display_messages (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    message_id      integer NOT NULL,
    source          text NOT NULL CHECK (source IN ('set', 'reported')),
    request_id      integer,                -- the GetDisplayMessages that reported it
    message         jsonb NOT NULL,         -- MessageInfo as OCPP sends it (camelCase)
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, message_id)
);

-- One row per GetDisplayMessages sent: the parts the station reported (tbc false = complete).
CREATE TABLE display_message_queries (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    request_id      integer NOT NULL,
    status          text NOT NULL,
    parts           integer NOT NULL DEFAULT 0,
    complete        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, request_id)
);

CREATE TABLE station_meter_values (
    id              bigserial PRIMARY KEY,
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id         integer NOT NULL CHECK (evse_id >= 0),
    sampled_at      timestamptz NOT NULL,
    measurand       text NOT NULL,
    phase           text,
    location        text,
    context         text,
    value           double precision NOT NULL,
    unit            text,
    multiplier      integer,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX station_meter_values_lookup
    ON station_meter_values (charge_point_id, sampled_at, measurand);
