-- 0025 the hourly retention prune of station_meter_values deletes by sampled_at alone; the
-- lookup index leads with charge_point_id, so without this one every prune scans the table.
CREATE INDEX station_meter_values_sampled_at ON station_meter_values (sampled_at);
