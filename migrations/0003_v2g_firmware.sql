-- 0003 V2G (sessions, preferences, events, compensations, grid prices, capabilities),
-- ISO 15118 certificates and firmware updates. Grid prices in centavos per MWh (CCEE PLD is R$/MWh).

CREATE TABLE v2g_sessions (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    transaction_id             uuid REFERENCES transactions (id),
    charge_point_id            text NOT NULL REFERENCES charge_points (id),
    evse_id                    integer CHECK (evse_id > 0),
    connector_id               integer CHECK (connector_id > 0),
    user_id                    uuid NOT NULL REFERENCES users (id),
    vehicle_id                 text,
    direction                  text NOT NULL DEFAULT 'discharge'
                               CHECK (direction IN ('charge', 'discharge')),
    requested_power_w          bigint CHECK (requested_power_w >= 0),
    actual_power_w             bigint,
    energy_transferred_wh      bigint NOT NULL DEFAULT 0 CHECK (energy_transferred_wh >= 0),
    grid_price_start_centavos_mwh bigint,
    current_grid_price_centavos_mwh bigint,
    user_compensation_centavos bigint NOT NULL DEFAULT 0 CHECK (user_compensation_centavos >= 0),
    min_battery_soc            smallint CHECK (min_battery_soc BETWEEN 0 AND 100),
    current_soc                smallint CHECK (current_soc BETWEEN 0 AND 100),
    status                     text NOT NULL DEFAULT 'Requested'
                               CHECK (status IN ('Requested', 'Active', 'Stopping', 'Completed',
                                                 'Failed', 'Cancelled')),
    started_at                 timestamptz,
    ended_at                   timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);
-- One live V2G session per EVSE.
CREATE UNIQUE INDEX v2g_sessions_one_live_per_evse ON v2g_sessions
    (charge_point_id, coalesce(evse_id, 0)) WHERE status IN ('Requested', 'Active', 'Stopping');
CREATE INDEX v2g_sessions_user ON v2g_sessions (user_id, created_at DESC);
CREATE TRIGGER v2g_sessions_touch BEFORE UPDATE ON v2g_sessions
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

CREATE TABLE v2g_preferences (
    user_id                      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    auto_discharge               boolean NOT NULL DEFAULT false,
    min_grid_price_centavos_mwh  bigint CHECK (min_grid_price_centavos_mwh >= 0),
    max_discharge_wh             bigint CHECK (max_discharge_wh >= 0),
    preserve_soc                 smallint NOT NULL DEFAULT 20 CHECK (preserve_soc BETWEEN 0 AND 100),
    notify_on_start              boolean NOT NULL DEFAULT true,
    notify_on_end                boolean NOT NULL DEFAULT true,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER v2g_preferences_touch BEFORE UPDATE ON v2g_preferences
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

CREATE TABLE v2g_events (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id              uuid NOT NULL REFERENCES v2g_sessions (id),
    charge_point_id         text NOT NULL REFERENCES charge_points (id),
    event_type              text NOT NULL,
    direction               text CHECK (direction IN ('charge', 'discharge')),
    power_w                 bigint,
    energy_wh               bigint,
    grid_price_centavos_mwh bigint,
    details                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at             timestamptz NOT NULL
);
CREATE INDEX v2g_events_session ON v2g_events (session_id, occurred_at);

-- One compensation per session; paid = credited to the wallet by journal entry.
CREATE TABLE v2g_compensations (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id                  uuid NOT NULL UNIQUE REFERENCES v2g_sessions (id),
    user_id                     uuid NOT NULL REFERENCES users (id),
    energy_discharged_wh        bigint NOT NULL CHECK (energy_discharged_wh >= 0),
    avg_grid_price_centavos_mwh bigint NOT NULL CHECK (avg_grid_price_centavos_mwh >= 0),
    operator_margin_bp          integer NOT NULL CHECK (operator_margin_bp BETWEEN 0 AND 10000),
    gross_amount_centavos       bigint NOT NULL CHECK (gross_amount_centavos >= 0),
    net_amount_centavos         bigint NOT NULL CHECK (net_amount_centavos >= 0),
    currency                    char(3) NOT NULL DEFAULT 'BRL',
    status                      text NOT NULL DEFAULT 'calculated'
                                CHECK (status IN ('calculated', 'paid', 'failed')),
    journal_entry_id            uuid REFERENCES journal_entries (id),
    payment_id                  uuid REFERENCES payments (id),
    failure_reason              text,
    paid_at                     timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (net_amount_centavos <= gross_amount_centavos),
    CHECK (status <> 'paid' OR (paid_at IS NOT NULL AND journal_entry_id IS NOT NULL))
);
CREATE INDEX v2g_compensations_user ON v2g_compensations (user_id, created_at DESC);
CREATE TRIGGER v2g_compensations_touch BEFORE UPDATE ON v2g_compensations
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Hourly prices per CCEE submarket (SE/CO, S, NE, N).
CREATE TABLE v2g_grid_prices (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    region             text NOT NULL CHECK (region IN ('SE_CO', 'S', 'NE', 'N')),
    starts_at          timestamptz NOT NULL,
    price_centavos_mwh bigint NOT NULL,
    is_peak            boolean NOT NULL DEFAULT false,
    source             text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region, starts_at, source)
);

CREATE TABLE v2g_capabilities (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id     text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id             integer NOT NULL CHECK (evse_id > 0),
    connector_id        integer NOT NULL DEFAULT 1 CHECK (connector_id > 0),
    supported           boolean NOT NULL DEFAULT false,
    bidirectional       boolean NOT NULL DEFAULT false,
    iso15118_support    boolean NOT NULL DEFAULT false,
    max_charge_w        bigint CHECK (max_charge_w >= 0),
    max_discharge_w     bigint CHECK (max_discharge_w >= 0),
    current_soc         smallint CHECK (current_soc BETWEEN 0 AND 100),
    battery_capacity_wh bigint CHECK (battery_capacity_wh >= 0),
    last_updated        timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, evse_id, connector_id)
);

-- ISO 15118 contract certificates; private keys only encrypted.
CREATE TABLE iso15118_certificates (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    emaid             text NOT NULL UNIQUE,
    contract_id       text,
    user_id           uuid REFERENCES users (id),
    vehicle_vin       text CHECK (vehicle_vin IS NULL OR length(vehicle_vin) = 17),
    certificate_pem   text NOT NULL,
    certificate_chain text,
    private_key_enc   bytea,
    v2g_capable       boolean NOT NULL DEFAULT false,
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz NOT NULL,
    revoked           boolean NOT NULL DEFAULT false,
    revoked_at        timestamptz,
    revocation_reason text,
    provider_id       text,
    max_charge_w      bigint CHECK (max_charge_w >= 0),
    max_discharge_w   bigint CHECK (max_discharge_w >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to > valid_from),
    CHECK (revoked = (revoked_at IS NOT NULL))
);
CREATE TRIGGER iso15118_certificates_touch BEFORE UPDATE ON iso15118_certificates
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Firmware updates (UpdateFirmware requestId unique per station); status uses OCPP
-- FirmwareStatusEnumType plus our own Requested/Rejected/Cancelled.
CREATE TABLE firmware_updates (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id     text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    request_id          integer NOT NULL,
    firmware_url        text NOT NULL,
    version             text,
    signature           text,
    signing_certificate text,
    retrieve_at         timestamptz NOT NULL,
    install_at          timestamptz,
    status              text NOT NULL DEFAULT 'Requested'
                        CHECK (status IN ('Requested', 'Rejected', 'Cancelled', 'Downloaded',
                            'DownloadFailed', 'Downloading', 'DownloadScheduled', 'DownloadPaused',
                            'Idle', 'InstallationFailed', 'Installing', 'Installed',
                            'InstallRebooting', 'InstallScheduled', 'InstallVerificationFailed',
                            'InvalidSignature', 'SignatureVerified')),
    progress            smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error_message       text,
    retries             integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    max_retries         integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
    retry_interval_s    integer NOT NULL DEFAULT 60 CHECK (retry_interval_s > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    UNIQUE (charge_point_id, request_id)
);
CREATE INDEX firmware_updates_station ON firmware_updates (charge_point_id, created_at DESC);
CREATE TRIGGER firmware_updates_touch BEFORE UPDATE ON firmware_updates
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();
