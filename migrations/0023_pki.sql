-- Our PKI (issue 22): certificates our CA issued to stations (SignCertificate, renewal),
-- trusted roots managed by admins (V2G, MO, CSMS, Manufacturer), and what the last
-- Plug & Charge check of a contract certificate found (iso15118_certificates, 0003).

CREATE TABLE station_certificates (
    serial_number        text PRIMARY KEY,                  -- hex, as OCPP carries serials
    charge_point_id      text NOT NULL REFERENCES charge_points (id) ON DELETE CASCADE,
    certificate_type     text NOT NULL
                         CHECK (certificate_type IN ('ChargingStationCertificate', 'V2GCertificate')),
    subject              text NOT NULL,
    certificate_pem      text NOT NULL,
    valid_from           timestamptz NOT NULL,
    valid_to             timestamptz NOT NULL,
    status               text NOT NULL DEFAULT 'Issued'
                         CHECK (status IN ('Issued', 'Accepted', 'Rejected', 'Superseded')),
    renewal_requested_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to > valid_from)
);
CREATE INDEX station_certificates_station ON station_certificates (charge_point_id, valid_to DESC);
CREATE INDEX station_certificates_expiry ON station_certificates (valid_to)
    WHERE status IN ('Issued', 'Accepted');

CREATE TABLE pki_trusted_roots (
    fingerprint     text PRIMARY KEY,                       -- sha256 of the DER, hex
    root_type       text NOT NULL CHECK (root_type IN ('V2G', 'MO', 'CSMS', 'Manufacturer')),
    subject         text NOT NULL,
    certificate_pem text NOT NULL,
    valid_to        timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE iso15118_certificates
    ADD COLUMN serial_number   text,
    ADD COLUMN last_status     text,
    ADD COLUMN last_checked_at timestamptz;
