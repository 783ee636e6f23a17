-- 0010 remote starts: every RequestStartTransaction we send is remembered with who asked, so
-- the station's Started (which names the remoteStartId and may carry no idToken) is linked to
-- that user and token on whichever node it arrives. One transaction claims a remote start.
CREATE TABLE remote_starts (
    charge_point_id        text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    remote_start_id        integer NOT NULL,
    id_token               text NOT NULL,
    id_token_type          text NOT NULL,
    user_id                uuid REFERENCES users (id) ON DELETE SET NULL,
    station_transaction_id text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (charge_point_id, remote_start_id)
);
