-- 0018 OCPP 2.0.1 device model, diagnostics, monitoring, events and customer information
-- (functional blocks B and N): what stations report is stored, not kept in an actor's memory.

-- Requests the CSMS made that the station answers with numbered parts (NotifyReport,
-- NotifyMonitoringReport, NotifyCustomerInformation), keyed by the station's requestId.
CREATE TABLE device_requests (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('report', 'monitoring', 'customer')),
    request_id      integer NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text,            -- the station's answer to the request (Accepted, ...)
    requested_by    text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, kind, request_id)
);

-- Every part the station sent, as received (a retried part replaces nothing).
CREATE TABLE device_report_parts (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('report', 'monitoring', 'customer')),
    request_id      integer NOT NULL,
    seq_no          integer NOT NULL CHECK (seq_no >= 0),
    tbc             boolean NOT NULL DEFAULT false,
    generated_at    timestamptz NOT NULL,
    items           integer NOT NULL DEFAULT 0,
    data            jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, kind, request_id, seq_no)
);

-- The station's device model: one row per component/variable/attribute type.
CREATE TABLE device_variables (
    charge_point_id    text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    key                text NOT NULL,   -- Component[instance]@evse.connector/Variable[instance]:Type
    component          text NOT NULL,
    component_instance text,
    evse_id            integer,
    connector_id       integer,
    variable           text NOT NULL,
    variable_instance  text,
    attribute_type     text NOT NULL DEFAULT 'Actual',
    value              text,
    mutability         text,
    persistent         boolean,
    constant           boolean,
    characteristics    jsonb,
    reboot_required    boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, key)
);
CREATE INDEX device_variables_by_name ON device_variables (charge_point_id, component, variable);

-- Monitors the station reported (NotifyMonitoringReport) or accepted (SetVariableMonitoring).
CREATE TABLE device_monitors (
    charge_point_id    text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    monitor_id         integer NOT NULL,
    component          text NOT NULL,
    component_instance text,
    evse_id            integer,
    connector_id       integer,
    variable           text NOT NULL,
    variable_instance  text,
    type               text NOT NULL,
    value              double precision NOT NULL,
    severity           smallint NOT NULL CHECK (severity BETWEEN 0 AND 9),
    transaction        boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, monitor_id)
);

-- NotifyEvent: one row per eventData; a retried message adds nothing.
CREATE TABLE device_events (
    id                     bigserial PRIMARY KEY,
    charge_point_id        text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    generated_at           timestamptz NOT NULL,
    seq_no                 integer NOT NULL,
    event_id               integer NOT NULL,
    occurred_at            timestamptz NOT NULL,
    trigger                text NOT NULL,
    notification_type      text NOT NULL,
    component              text NOT NULL,
    variable               text NOT NULL,
    evse_id                integer,
    actual_value           text NOT NULL,
    cleared                boolean,
    severity               smallint,
    variable_monitoring_id integer,
    data                   jsonb NOT NULL,
    received_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, generated_at, seq_no, event_id)
);
CREATE INDEX device_events_recent ON device_events (charge_point_id, occurred_at DESC, id DESC);

-- GetLog requests, their one-time upload slot and the LogStatusNotification history.
CREATE TABLE device_logs (
    charge_point_id text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    request_id      integer NOT NULL,
    log_type        text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    status          text,             -- the station's GetLog answer
    filename        text,             -- the file name the station announced
    requested_by    text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    uploaded_at     timestamptz,
    stored_name     text,
    size_bytes      bigint,
    history         jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{status, at}] as notified
    PRIMARY KEY (charge_point_id, request_id)
);
