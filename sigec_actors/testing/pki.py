"""In-memory CertificateStore for PKI tests without PostgreSQL."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum, IdToken, IdTokenInfo
from sigec_actors.pki.store import ContractCheck, IssuedCertificate, RootType, TrustedRoot

if TYPE_CHECKING:
    from sigec_actors.pki.stations import Send
    from sigec_actors.pki.wiring import PkiWiring


class InMemoryCertificates:
    """The CertificateStore in dicts (same semantics as PgCertificates)."""

    def __init__(self) -> None:
        self.certs: dict[str, IssuedCertificate] = {}
        self.root_rows: dict[str, TrustedRoot] = {}
        self.contracts: dict[str, ContractCheck] = {}

    async def record_issued(self, cert: IssuedCertificate) -> None:
        self.certs.setdefault(cert.serial_number, cert)

    async def set_status(self, serial_number: str, status: str) -> None:
        cert = self.certs.get(serial_number)
        if cert is None:
            return
        self.certs[serial_number] = msgspec.structs.replace(cert, status=status)
        if status != "Accepted":
            return
        for serial, other in list(self.certs.items()):
            if (serial != serial_number and other.charge_point_id == cert.charge_point_id
                    and other.certificate_type == cert.certificate_type
                    and other.status in ("Issued", "Accepted")):
                self.certs[serial] = msgspec.structs.replace(other, status="Superseded")

    async def issued(self, station_id: str) -> list[IssuedCertificate]:
        mine = [c for c in self.certs.values() if c.charge_point_id == station_id]
        return sorted(mine, key=lambda c: c.valid_to, reverse=True)

    async def expiring(self, before: datetime, asked_before: datetime
                       ) -> list[IssuedCertificate]:
        return sorted((c for c in self.certs.values()
                       if c.status in ("Issued", "Accepted") and c.valid_to < before
                       and (c.renewal_requested_at is None
                            or c.renewal_requested_at < asked_before)),
                      key=lambda c: c.valid_to)

    async def claim_renewal(self, serial_number: str, at: datetime,
                            asked_before: datetime) -> bool:
        cert = self.certs[serial_number]
        if cert.renewal_requested_at is not None and cert.renewal_requested_at >= asked_before:
            return False
        self.certs[serial_number] = msgspec.structs.replace(cert, renewal_requested_at=at)
        return True

    async def roots(self, types: tuple[RootType, ...] = ()) -> list[TrustedRoot]:
        return [r for r in self.root_rows.values() if not types or r.root_type in types]

    async def add_root(self, root: TrustedRoot) -> TrustedRoot:
        return self.root_rows.setdefault(root.fingerprint, root)

    async def delete_root(self, fingerprint: str) -> bool:
        return self.root_rows.pop(fingerprint, None) is not None

    async def record_contract(self, check: ContractCheck) -> None:
        self.contracts[check.emaid] = check


class TokenTable:
    """Authorizer for PKI tests: the statuses of known tokens; every other token is Unknown."""

    def __init__(self, statuses: dict[str, AuthorizationStatusEnum]) -> None:
        self.statuses = statuses
        self.asked: list[tuple[str, str]] = []

    async def authorize(self, station_id: str, id_token: IdToken) -> IdTokenInfo:
        self.asked.append((id_token.id_token, id_token.type.value))
        return IdTokenInfo(status=self.statuses.get(id_token.id_token,
                                                    AuthorizationStatusEnum.UNKNOWN))


_SCRATCH: dict[str, Path] = {}


def in_memory_pki() -> PkiWiring:
    """A PkiWiring on InMemoryCertificates whose CA lives in one temporary directory per
    process (the in-process REST harness); station commands are never sent from it."""
    from sigec_actors.config import load_settings  # settings load the TOML: only when asked
    from sigec_actors.pki.wiring import PkiWiring

    if "dir" not in _SCRATCH:
        _SCRATCH["dir"] = Path(tempfile.mkdtemp(prefix="sigec-pki-"))
    settings = load_settings({}, overrides={"server.data_dir": str(_SCRATCH["dir"])})

    def no_sender() -> Send:
        raise AssertionError("the REST harness's PKI sends no station command")

    return PkiWiring(settings, InMemoryCertificates(), TokenTable({}), no_sender)
