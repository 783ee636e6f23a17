"""What the PKI stores: issued station certificates, trusted roots, contract certificate checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec


class RootType(StrEnum):
    V2G = "V2G"
    MO = "MO"
    CSMS = "CSMS"
    MANUFACTURER = "Manufacturer"


class IssuedCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate our CA issued to a station (status: Issued, Accepted by the station,
    Rejected by it, or Superseded by a newer one)."""

    serial_number: str
    charge_point_id: str
    certificate_type: str
    subject: str
    certificate_pem: str
    valid_from: datetime
    valid_to: datetime
    status: str = "Issued"
    renewal_requested_at: datetime | None = None


class TrustedRoot(msgspec.Struct, frozen=True, kw_only=True):
    fingerprint: str
    root_type: RootType
    subject: str
    certificate_pem: str
    valid_to: datetime
    created_at: datetime | None = None


class ContractCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of checking a contract certificate (AuthorizeCertificateStatus)."""

    emaid: str
    serial_number: str
    certificate_pem: str
    chain_pem: str
    valid_from: datetime
    valid_to: datetime
    status: str
    checked_at: datetime
    revoked: bool = False
    private_key_enc: bytes | None = None  # encrypted PKCS#8, never the clear key


class CertificateStore(Protocol):
    """adapters.pg_certificates.PgCertificates; testing.pki.InMemoryCertificates."""

    async def record_issued(self, cert: IssuedCertificate) -> None:
        """Store a newly issued certificate; older ones of its station and type are Superseded
        once the station accepts it (see `set_status`)."""
        ...

    async def set_status(self, serial_number: str, status: str) -> None: ...

    async def issued(self, station_id: str) -> list[IssuedCertificate]:
        """The station's certificates, newest first."""
        ...

    async def expiring(self, before: datetime, asked_before: datetime
                       ) -> list[IssuedCertificate]:
        """Live (Issued/Accepted) certificates ending before `before` whose renewal was never
        asked or last asked before `asked_before`."""
        ...

    async def claim_renewal(self, serial_number: str, at: datetime,
                            asked_before: datetime) -> bool:
        """Mark its renewal asked at `at` unless it was asked since `asked_before` (another
        node's job took it): True for the one caller that should ask the station."""
        ...

    async def roots(self, types: tuple[RootType, ...] = ()) -> list[TrustedRoot]:
        """Trusted roots of these types (all when empty)."""
        ...

    async def add_root(self, root: TrustedRoot) -> TrustedRoot:
        """Store it (the same certificate again returns the stored row)."""
        ...

    async def delete_root(self, fingerprint: str) -> bool: ...

    async def record_contract(self, check: ContractCheck) -> None:
        """Upsert the contract certificate of `check.emaid` with its last status."""
        ...
