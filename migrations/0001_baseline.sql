-- 0001 baseline: people, places, stations, tokens, tariffs, reservations, transactions.
-- Conventions: money BIGINT centavos, energy BIGINT Wh, power BIGINT W, timestamptz everywhere,
-- enumerations as CHECK lists (OCPP 2.0.1 spelling where OCPP defines the value).

CREATE FUNCTION sigec_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE FUNCTION sigec_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

-- Users of the apps and the console. Email unique case-insensitively.
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email         text NOT NULL CHECK (position('@' IN email) > 1 AND length(email) <= 320),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'operator', 'admin')),
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Physical sites; coordinates in WGS84 degrees.
CREATE TABLE locations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address     text,
    city        text,
    state       char(2),
    postal_code text,
    latitude    double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX locations_lat_lng ON locations (latitude, longitude);

-- Charge points (OCPP "identity" is the primary key) with the last BootNotification data.
CREATE TABLE charge_points (
    id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9*_=:+|@.-]{1,48}$'),
    vendor           text,
    model            text,
    serial_number    text,
    firmware_version text,
    iccid            text,
    imsi             text,
    location_id      uuid REFERENCES locations (id) ON DELETE SET NULL,
    admin_status     text NOT NULL DEFAULT 'Operative'
                     CHECK (admin_status IN ('Operative', 'Inoperative', 'Retired')),
    online           boolean NOT NULL DEFAULT false,
    last_seen        timestamptz,
    last_boot_at     timestamptz,
    boot_reason      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charge_points_location ON charge_points (location_id);
CREATE INDEX charge_points_online ON charge_points (online);
CREATE TRIGGER charge_points_touch BEFORE UPDATE ON charge_points
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- How a station authenticates (OCPP security profiles: 0 none (dev only), 1-2 Basic auth, 3 mTLS).
CREATE TABLE station_credentials (
    charge_point_id  text PRIMARY KEY REFERENCES charge_points (id) ON DELETE CASCADE,
    password_hash    text CHECK (password_hash LIKE '$argon2id$%'),
    security_profile smallint NOT NULL CHECK (security_profile BETWEEN 0 AND 3),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (security_profile NOT IN (1, 2) OR password_hash IS NOT NULL)
);

-- Connectors per EVSE (OCPP 2.0.1 addresses a connector by (evseId, connectorId)).
CREATE TABLE connectors (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id   text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id           integer NOT NULL CHECK (evse_id > 0),
    connector_id      integer NOT NULL CHECK (connector_id > 0),
    type              text,
    status            text NOT NULL DEFAULT 'Unavailable'
                      CHECK (status IN ('Available', 'Occupied', 'Reserved', 'Unavailable',
                                        'Faulted')),
    max_power_w       bigint CHECK (max_power_w IS NULL OR max_power_w >= 0),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, evse_id, connector_id)
);

-- Authorization identifiers (RFID cards, app tokens, ...) held by users.
CREATE TABLE id_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id_token   text NOT NULL CHECK (length(id_token) BETWEEN 1 AND 36),
    type       text NOT NULL CHECK (type IN ('Central', 'eMAID', 'ISO14443', 'ISO15693', 'KeyCode',
                                             'Local', 'MacAddress', 'NoAuthorization')),
    status     text NOT NULL DEFAULT 'Accepted'
               CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_token, type)
);
CREATE INDEX id_tokens_user ON id_tokens (user_id);

-- Prices per station or per connector (both NULL = network default), valid from a time on.
CREATE TABLE tariffs (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id          text REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id                  integer CHECK (evse_id > 0),
    connector_id             integer CHECK (connector_id > 0),
    currency                 char(3) NOT NULL DEFAULT 'BRL',
    price_per_kwh_centavos   bigint NOT NULL DEFAULT 0 CHECK (price_per_kwh_centavos >= 0),
    per_minute_centavos      bigint NOT NULL DEFAULT 0 CHECK (per_minute_centavos >= 0),
    idle_per_minute_centavos bigint NOT NULL DEFAULT 0 CHECK (idle_per_minute_centavos >= 0),
    session_fee_centavos     bigint NOT NULL DEFAULT 0 CHECK (session_fee_centavos >= 0),
    valid_from               timestamptz NOT NULL DEFAULT now(),
    valid_to                 timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK (evse_id IS NULL OR charge_point_id IS NOT NULL),
    CHECK (connector_id IS NULL OR evse_id IS NOT NULL)
);
CREATE UNIQUE INDEX tariffs_scope_from ON tariffs
    (coalesce(charge_point_id, ''), coalesce(evse_id, 0), coalesce(connector_id, 0), valid_from);

-- Reservations (ReserveNow); the OCPP reservation id is an integer unique per station.
CREATE SEQUENCE reservation_ocpp_id_seq AS integer;
CREATE TABLE reservations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ocpp_reservation_id integer NOT NULL DEFAULT nextval('reservation_ocpp_id_seq'),
    charge_point_id     text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    evse_id             integer CHECK (evse_id > 0),
    connector_type      text,
    user_id             uuid NOT NULL REFERENCES users (id),
    id_token            text NOT NULL,
    id_token_type       text NOT NULL,
    expires_at          timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'Pending'
                        CHECK (status IN ('Pending', 'Accepted', 'Rejected', 'Occupied', 'Faulted',
                                          'Unavailable', 'Cancelled', 'Expired', 'Used')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, ocpp_reservation_id)
);
-- At most one live reservation per EVSE.
CREATE UNIQUE INDEX reservations_one_live_per_evse ON reservations (charge_point_id, evse_id)
    WHERE status IN ('Pending', 'Accepted') AND evse_id IS NOT NULL;
CREATE INDEX reservations_user ON reservations (user_id, created_at DESC);
CREATE TRIGGER reservations_touch BEFORE UPDATE ON reservations
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Charging transactions; one row per (station, OCPP transactionId).
CREATE TABLE transactions (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    charge_point_id        text NOT NULL REFERENCES charge_points (id),
    station_transaction_id text NOT NULL CHECK (length(station_transaction_id) BETWEEN 1 AND 36),
    evse_id                integer CHECK (evse_id > 0),
    connector_id           integer CHECK (connector_id > 0),
    user_id                uuid REFERENCES users (id),
    id_token               text,
    id_token_type          text,
    reservation_id         uuid REFERENCES reservations (id),
    tariff_id              uuid REFERENCES tariffs (id),
    remote_start_id        integer,
    status                 text NOT NULL DEFAULT 'Active'
                           CHECK (status IN ('Active', 'Ended')),
    charging_state         text,
    stopped_reason         text,
    started_at             timestamptz,
    ended_at               timestamptz,
    meter_start_wh         bigint CHECK (meter_start_wh >= 0),
    meter_stop_wh          bigint CHECK (meter_stop_wh >= 0),
    energy_wh              bigint NOT NULL DEFAULT 0 CHECK (energy_wh >= 0),
    energy_export_wh       bigint NOT NULL DEFAULT 0 CHECK (energy_export_wh >= 0),
    cost_centavos          bigint NOT NULL DEFAULT 0 CHECK (cost_centavos >= 0),
    currency               char(3) NOT NULL DEFAULT 'BRL',
    last_seq_no            integer,
    seq_gap                boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, station_transaction_id),
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at),
    CHECK (status <> 'Ended' OR ended_at IS NOT NULL)
);
CREATE INDEX transactions_user ON transactions (user_id, started_at DESC);
CREATE INDEX transactions_active ON transactions (charge_point_id, evse_id) WHERE status = 'Active';
CREATE INDEX transactions_started ON transactions (started_at DESC);
CREATE TRIGGER transactions_touch BEFORE UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION sigec_touch_updated_at();

-- Every TransactionEvent accepted, deduplicated on (station, transactionId, seqNo);
-- `response` is what we answered, so a duplicate gets the very same answer.
CREATE TABLE transaction_events (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id        text NOT NULL REFERENCES charge_points (id),
    station_transaction_id text NOT NULL,
    seq_no                 integer NOT NULL CHECK (seq_no >= 0),
    transaction_id         uuid REFERENCES transactions (id),
    event_type             text NOT NULL CHECK (event_type IN ('Started', 'Updated', 'Ended')),
    trigger_reason         text,
    occurred_at            timestamptz NOT NULL,
    offline                boolean NOT NULL DEFAULT false,
    payload                jsonb NOT NULL,
    response               jsonb NOT NULL DEFAULT '{}'::jsonb,
    received_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (charge_point_id, station_transaction_id, seq_no)
);
CREATE INDEX transaction_events_tx ON transaction_events (transaction_id, seq_no);
CREATE TRIGGER transaction_events_append_only BEFORE UPDATE OR DELETE ON transaction_events
    FOR EACH ROW EXECUTE FUNCTION sigec_reject_change();

-- Sampled meter values (as sent: exact decimal value + unit), per transaction where known.
CREATE TABLE meter_values (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    charge_point_id text NOT NULL REFERENCES charge_points (id),
    evse_id         integer,
    transaction_id  uuid REFERENCES transactions (id),
    event_id        bigint REFERENCES transaction_events (id),
    sampled_at      timestamptz NOT NULL,
    measurand       text NOT NULL DEFAULT 'Energy.Active.Import.Register',
    phase           text,
    location        text,
    context         text,
    unit            text,
    value           numeric NOT NULL
);
CREATE INDEX meter_values_tx ON meter_values (transaction_id, sampled_at);
CREATE INDEX meter_values_station ON meter_values (charge_point_id, sampled_at);

-- Refresh tokens: stored as SHA-256 of the token; rotation keeps a family so that reuse of a
-- rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id      uuid NOT NULL,
    parent_id      uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    issued_at      timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    rotated_at     timestamptz,
    revoked_at     timestamptz,
    revoked_reason text,
    CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
