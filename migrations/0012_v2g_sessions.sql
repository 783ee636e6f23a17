-- 0012 V2G discharge sessions as actors: the columns the session actor and its REST shape need,
-- one stored meter sample per (session, timestamp), the compensation breakdown, station modes.

ALTER TABLE v2g_sessions
    ADD COLUMN station_transaction_id text,
    ADD COLUMN mode text NOT NULL DEFAULT 'v201_negative_limit'
        CHECK (mode IN ('v201_negative_limit', 'ocpp21_setpoint')),
    ADD COLUMN profile_id integer,
    ADD COLUMN start_soc smallint CHECK (start_soc BETWEEN 0 AND 100),
    ADD COLUMN max_energy_wh bigint CHECK (max_energy_wh > 0),
    ADD COLUMN until timestamptz,
    ADD COLUMN stop_reason text,
    ADD COLUMN first_register_wh bigint,
    ADD COLUMN first_sample_at timestamptz,
    ADD COLUMN last_sample_at timestamptz,
    ADD COLUMN offline_since timestamptz,
    ADD COLUMN min_price_centavos_mwh bigint CHECK (min_price_centavos_mwh >= 0);
CREATE INDEX v2g_sessions_live_station ON v2g_sessions (charge_point_id)
    WHERE status IN ('Requested', 'Active', 'Stopping');

-- A meter sample is stored once per (session, timestamp): a repeated TransactionEvent adds nothing.
CREATE UNIQUE INDEX v2g_events_one_sample ON v2g_events (session_id, occurred_at)
    WHERE event_type = 'meter';

-- The compensation keeps its per-hour breakdown, margin and policy version; a net of 0 is paid
-- without a journal entry (a posting cannot be 0).
ALTER TABLE v2g_compensations
    ADD COLUMN margin_centavos bigint NOT NULL DEFAULT 0 CHECK (margin_centavos >= 0),
    ADD COLUMN policy_version text,
    ADD COLUMN hours jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN missing_hours jsonb NOT NULL DEFAULT '[]'::jsonb,
    DROP CONSTRAINT v2g_compensations_check1,
    ADD CONSTRAINT v2g_compensations_paid CHECK (status <> 'paid' OR (paid_at IS NOT NULL
        AND (journal_entry_id IS NOT NULL OR net_amount_centavos = 0)));

-- How a station discharges, set by an admin (one value per station, kept on each EVSE row).
ALTER TABLE v2g_capabilities
    ADD COLUMN mode text NOT NULL DEFAULT 'unsupported'
        CHECK (mode IN ('v201_negative_limit', 'ocpp21_setpoint', 'unsupported'));
