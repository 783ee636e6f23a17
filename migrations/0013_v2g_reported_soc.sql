-- 0013 The car's SoC a station reports in NotifyEVChargingNeeds (DC stateOfCharge), kept on the
-- EVSE's V2G capability with its time, so the newer of it and the last SoC meter value is shown.
ALTER TABLE v2g_capabilities ADD COLUMN soc_reported_at timestamptz;
