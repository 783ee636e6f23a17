"""PgCertificates on PostgreSQL (migration 0023) and the renewal job over it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes

from sigec_actors.adapters.pg_certificates import PgCertificates
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.alerts.model import AlertFilter
from sigec_actors.domain.records import NewStation
from sigec_actors.ocpp.generated.v201 import TriggerMessageRequest
from sigec_actors.pki.renewal import Renewal
from sigec_actors.pki.store import ContractCheck, IssuedCertificate, RootType, TrustedRoot
from sigec_actors.ports import DbPool
from sigec_actors.testing.alerts import InMemoryAlerts
from sigec_actors.testing.pki import InMemoryCertificates
from sigec_actors.testing.repos import InMemoryStations
from tests.helpers.pki import make_contract_pki

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _cert(serial: str, station: str, days: int) -> IssuedCertificate:
    return IssuedCertificate(serial_number=serial, charge_point_id=station,
                             certificate_type="ChargingStationCertificate",
                             subject=f"CN={station}", certificate_pem="PEM",
                             valid_from=NOW - timedelta(days=300),
                             valid_to=NOW + timedelta(days=days))


async def _station(pool: DbPool, station_id: str) -> None:
    await PgStationRepository(pool).register(NewStation(id=station_id, security_profile=3))


async def test_issued_superseded_expiring_and_claimed_once(pg_pool: DbPool) -> None:
    store = PgCertificates(pg_pool)
    await _station(pg_pool, "CP-PG-1")
    await store.record_issued(_cert("a1", "CP-PG-1", 10))
    await store.record_issued(_cert("b2", "CP-PG-1", 365))
    await store.set_status("a1", "Accepted")
    await store.set_status("b2", "Accepted")  # the station took the new one
    statuses = {c.serial_number: c.status for c in await store.issued("CP-PG-1")}
    assert statuses == {"a1": "Superseded", "b2": "Accepted"}
    assert [c.serial_number for c in await store.expiring(NOW + timedelta(days=400),
                                                          NOW)] == ["b2"]
    assert await store.claim_renewal("b2", NOW, NOW - timedelta(days=1))
    assert not await store.claim_renewal("b2", NOW, NOW - timedelta(days=1))  # other node
    assert await store.expiring(NOW + timedelta(days=400), NOW - timedelta(days=1)) == []


async def test_roots_and_contract_checks(pg_pool: DbPool) -> None:
    store = PgCertificates(pg_pool)
    mo = make_contract_pki(name="PG MO")
    root = TrustedRoot(fingerprint=mo.root.cert.fingerprint(hashes.SHA256()).hex(),
                       root_type=RootType.MO, subject="CN=PG MO Root CA",
                       certificate_pem=mo.root.pem, valid_to=mo.root.cert.not_valid_after_utc)
    stored = await store.add_root(root)
    assert (await store.add_root(root)).fingerprint == stored.fingerprint  # idempotent
    assert [r.fingerprint for r in await store.roots((RootType.MO,))] == [root.fingerprint]
    assert await store.roots((RootType.V2G,)) == []
    leaf = mo.leaf("BRXXXC12345678X")
    check = ContractCheck(emaid="BRXXXC12345678X", serial_number="ab", certificate_pem=leaf.pem,
                          chain_pem=mo.chain(leaf), valid_from=NOW, valid_to=NOW +
                          timedelta(days=730), status="Issued", checked_at=NOW,
                          private_key_enc=b"encrypted")
    await store.record_contract(check)
    await store.record_contract(msgspec.structs.replace(
        check, status="CertificateRevoked", revoked=True, private_key_enc=None))
    async with pg_pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM iso15118_certificates WHERE emaid = $1",
                                  "BRXXXC12345678X")
    assert row["last_status"] == "CertificateRevoked" and row["revoked"]
    assert bytes(row["private_key_enc"]) == b"encrypted"  # kept, never replaced by nothing
    assert await store.delete_root(root.fingerprint)
    assert not await store.delete_root(root.fingerprint)


async def test_renewal_alerts_and_triggers_each_expiring_certificate_once() -> None:
    store = InMemoryCertificates()
    stations = InMemoryStations(now=lambda: NOW)
    await stations.register(NewStation(id="CP-R", security_profile=3))
    alerts = InMemoryAlerts(now=lambda: NOW, stations=stations)
    sent: list[tuple[str, Any]] = []

    async def send(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        sent.append((station_id, request))
        return request

    await store.record_issued(_cert("c3", "CP-R", 20))
    await store.record_issued(_cert("d4", "CP-R", 200))
    job = Renewal(store, send, lambda: NOW, renew_before_days=30, alerts=alerts)
    assert await job.run_once() == ["c3"]
    assert await job.run_once() == []  # asked today already
    assert [type(r) for _, r in sent] == [TriggerMessageRequest]
    page = await alerts.page(AlertFilter())
    assert [a.kind for a in page.items] == ["certificate_expiring"]
