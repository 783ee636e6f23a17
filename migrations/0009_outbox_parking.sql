-- 0009 parked outbox events: an event the bus can never take (over the server's max_payload,
-- or refused for good) is set aside with the reason, so the events after it still flow; the
-- relay opens an operator alert (kind outbox_parked) naming it. A parked row is never retried;
-- to retry one: UPDATE event_outbox SET parked_at = NULL, park_reason = NULL WHERE id = ...
ALTER TABLE event_outbox ADD COLUMN parked_at timestamptz, ADD COLUMN park_reason text;
DROP INDEX event_outbox_unsent;
CREATE INDEX event_outbox_unsent ON event_outbox (seq) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX event_outbox_parked ON event_outbox (parked_at) WHERE parked_at IS NOT NULL;
