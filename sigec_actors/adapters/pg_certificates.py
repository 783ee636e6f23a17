"""PostgreSQL storage of the PKI: station_certificates, pki_trusted_roots, iso15118_certificates."""

from __future__ import annotations

from datetime import datetime

from sigec_actors.adapters.pg import to_record
from sigec_actors.pki.store import (
    ContractCheck,
    IssuedCertificate,
    RootType,
    TrustedRoot,
)
from sigec_actors.ports import DbPool

_ISSUED = ("serial_number, charge_point_id, certificate_type, subject, certificate_pem, "
           "valid_from, valid_to, status, renewal_requested_at")
_ROOT = "fingerprint, root_type, subject, certificate_pem, valid_to, created_at"


class PgCertificates:
    """The CertificateStore on PostgreSQL."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def record_issued(self, cert: IssuedCertificate) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"INSERT INTO station_certificates ({_ISSUED}) "  # noqa: S608 -- fixed columns
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                cert.serial_number, cert.charge_point_id, cert.certificate_type, cert.subject,
                cert.certificate_pem, cert.valid_from, cert.valid_to, cert.status,
                cert.renewal_requested_at)

    async def set_status(self, serial_number: str, status: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE station_certificates SET status = $2 WHERE serial_number = $1 "
                "RETURNING charge_point_id, certificate_type", serial_number, status)
            if row is not None and status == "Accepted":  # the station now uses the new one
                await conn.execute(
                    "UPDATE station_certificates SET status = 'Superseded' "
                    "WHERE charge_point_id = $1 AND certificate_type = $2 "
                    "AND serial_number <> $3 AND status IN ('Issued', 'Accepted')",
                    row["charge_point_id"], row["certificate_type"], serial_number)

    async def issued(self, station_id: str) -> list[IssuedCertificate]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_ISSUED} FROM station_certificates "  # noqa: S608 -- fixed columns
                "WHERE charge_point_id = $1 ORDER BY valid_to DESC, created_at DESC",
                station_id)
        return [to_record(r, IssuedCertificate) for r in rows]

    async def expiring(self, before: datetime, asked_before: datetime
                       ) -> list[IssuedCertificate]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_ISSUED} FROM station_certificates "  # noqa: S608 -- fixed columns
                "WHERE status IN ('Issued', 'Accepted') AND valid_to < $1 "
                "AND (renewal_requested_at IS NULL OR renewal_requested_at < $2) "
                "ORDER BY valid_to LIMIT 500", before, asked_before)
        return [to_record(r, IssuedCertificate) for r in rows]

    async def claim_renewal(self, serial_number: str, at: datetime,
                            asked_before: datetime) -> bool:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE station_certificates SET renewal_requested_at = $2 "
                "WHERE serial_number = $1 AND (renewal_requested_at IS NULL "
                "OR renewal_requested_at < $3) RETURNING serial_number",
                serial_number, at, asked_before)
        return row is not None

    async def roots(self, types: tuple[RootType, ...] = ()) -> list[TrustedRoot]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_ROOT} FROM pki_trusted_roots "  # noqa: S608 -- fixed columns
                "WHERE cardinality($1::text[]) = 0 OR root_type = ANY($1::text[]) "
                "ORDER BY created_at", [t.value for t in types])
        return [to_record(r, TrustedRoot) for r in rows]

    async def add_root(self, root: TrustedRoot) -> TrustedRoot:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO pki_trusted_roots (fingerprint, root_type, subject, "
                "certificate_pem, valid_to) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (fingerprint) DO NOTHING", root.fingerprint, root.root_type.value,
                root.subject, root.certificate_pem, root.valid_to)
            row = await conn.fetchrow(
                f"SELECT {_ROOT} FROM pki_trusted_roots WHERE fingerprint = $1",  # noqa: S608
                root.fingerprint)
        return to_record(row, TrustedRoot)

    async def delete_root(self, fingerprint: str) -> bool:
        async with self._pool.acquire() as conn:
            done = await conn.execute("DELETE FROM pki_trusted_roots WHERE fingerprint = $1",
                                      fingerprint)
        return bool(done.endswith(" 1"))

    async def record_contract(self, check: ContractCheck) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO iso15118_certificates (emaid, certificate_pem, certificate_chain, "
                "valid_from, valid_to, serial_number, last_status, last_checked_at, revoked, "
                "revoked_at, revocation_reason, private_key_enc) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "CASE WHEN $9 THEN $8::timestamptz END, CASE WHEN $9 THEN 'OCSP' END, $10) "
                "ON CONFLICT (emaid) DO UPDATE SET certificate_pem = EXCLUDED.certificate_pem, "
                "certificate_chain = EXCLUDED.certificate_chain, "
                "valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, "
                "serial_number = EXCLUDED.serial_number, last_status = EXCLUDED.last_status, "
                "last_checked_at = EXCLUDED.last_checked_at, revoked = EXCLUDED.revoked, "
                "revoked_at = EXCLUDED.revoked_at, "
                "revocation_reason = EXCLUDED.revocation_reason, private_key_enc = "
                "COALESCE(EXCLUDED.private_key_enc, iso15118_certificates.private_key_enc)",
                check.emaid, check.certificate_pem, check.chain_pem, check.valid_from,
                check.valid_to, check.serial_number, check.status, check.checked_at,
                check.revoked, check.private_key_enc)
