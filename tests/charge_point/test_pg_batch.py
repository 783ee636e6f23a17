"""Bulk station reads and writes on the real PostgreSQL (what the StationStore batches)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.pg import IntegrityViolation
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.charge_point.store import BootWrite, OnlineWrite, StationStore, StatusWrite
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.records import BootInfo, ConnectorStatus, NewStation, OutboxMessage
from sigec_actors.ports import DbPool

pytestmark = pytest.mark.pg
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def pool(pg_pool: DbPool) -> DbPool:
    """The root conftest's pool on a migrated database of this module."""
    return pg_pool


async def _outbox(pool: DbPool, prefix: str) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT subject, payload->>'stationId' AS sid FROM event_outbox"
            " WHERE payload->>'stationId' LIKE $1 ORDER BY seq", prefix + "%")
    return [(r["subject"], r["sid"]) for r in rows]


def _event(subject: str, station_id: str) -> tuple[OutboxMessage, ...]:
    return (OutboxMessage(subject, {"stationId": station_id}),)


async def test_one_batch_commits_every_kind_with_events_only_for_found_stations(
        pool: DbPool) -> None:
    repo = PgStationRepository(pool)
    for sid in ("B-1", "B-2", "B-3"):
        await repo.register(NewStation(id=sid, security_profile=0))
    results = await repo.write_batch([
        BootWrite("B-1", BootInfo("ACME", "X1", serial_number="S1", reason="PowerUp"), T0,
                  _event("ocpp.device.boot", "B-1")),
        OnlineWrite("B-2", True, T0, _event("ocpp.device.connected", "B-2")),
        StatusWrite("B-3", 1, 2, ConnectorStatus.OCCUPIED, T0,
                    _event("ocpp.device.status", "B-3")),
        OnlineWrite("B-404", True, T0, _event("ocpp.device.connected", "B-404")),
    ])
    assert results[:3] == [None, None, None]
    assert isinstance(results[3], UnknownStation)
    booted = await repo.get("B-1")
    assert booted is not None and booted.online and booted.vendor == "ACME"
    assert booted.last_boot_at == T0 and booted.boot_reason == "PowerUp"
    online = await repo.get("B-2")
    assert online is not None and online.online and online.last_seen == T0
    [connector] = await repo.connectors("B-3")
    assert (connector.evse_id, connector.connector_id, connector.status) == (
        1, 2, ConnectorStatus.OCCUPIED)
    assert await _outbox(pool, "B-") == [("ocpp.device.boot", "B-1"),
                                         ("ocpp.device.connected", "B-2"),
                                         ("ocpp.device.status", "B-3")]


async def test_a_write_that_breaks_a_constraint_fails_alone(pool: DbPool) -> None:
    repo = PgStationRepository(pool)
    for sid in ("C-1", "C-2"):
        await repo.register(NewStation(id=sid, security_profile=0))
    results = await repo.write_batch([
        StatusWrite("C-1", 0, 1, ConnectorStatus.AVAILABLE, T0,  # evse_id > 0 is checked
                    _event("ocpp.device.status", "C-1")),
        OnlineWrite("C-2", True, T0, _event("ocpp.device.connected", "C-2")),
    ])
    assert isinstance(results[0], IntegrityViolation) and results[1] is None
    assert await repo.connectors("C-1") == []
    assert await _outbox(pool, "C-") == [("ocpp.device.connected", "C-2")]
    with pytest.raises(ValueError, match="one write per station"):
        await repo.write_batch([OnlineWrite("C-2", True, T0), OnlineWrite("C-2", False, T0)])


async def test_snapshots_credentials_and_touch_in_bulk(pool: DbPool) -> None:
    repo = PgStationRepository(pool)
    await repo.register(NewStation(id="D-1", security_profile=0))
    await repo.register(NewStation(id="D-2", security_profile=0))
    await repo.set_connector_status("D-1", 1, 1, ConnectorStatus.AVAILABLE, now=T0)
    await repo.set_connector_status("D-1", 2, 1, ConnectorStatus.FAULTED, now=T0)
    snaps = await repo.snapshots(["D-1", "D-2", "D-404"])
    assert set(snaps) == {"D-1", "D-2"}
    assert [(c.evse_id, c.status) for c in snaps["D-1"].connectors] == [
        (1, ConnectorStatus.AVAILABLE), (2, ConnectorStatus.FAULTED)]
    assert snaps["D-1"].connectors[0].status_changed_at == T0
    assert snaps["D-2"].connectors == () and snaps["D-2"].station.id == "D-2"
    creds = await repo.credentials_many(["D-1", "D-404"])
    assert list(creds) == ["D-1"] and creds["D-1"].security_profile == 0
    later = T0 + timedelta(minutes=5)
    await repo.touch_many([("D-1", later), ("D-2", T0), ("D-404", T0)])
    await repo.touch_many([("D-1", T0)])  # never moves last_seen back
    d1 = await repo.get("D-1")
    assert d1 is not None and d1.last_seen == later


async def test_store_over_postgres_coalesces_concurrent_boots(pool: DbPool) -> None:
    repo = PgStationRepository(pool)
    ids = [f"E-{i}" for i in range(200)]
    for sid in ids:
        await repo.register(NewStation(id=sid, security_profile=0))
    store = StationStore(repo)
    assert store.batched
    await asyncio.gather(*(store.write(BootWrite(sid, BootInfo("V", "M"), T0,
                                                 _event("ocpp.device.boot", sid)))
                           for sid in ids))
    snaps = await asyncio.gather(*(store.snapshot(sid) for sid in ids))
    assert all(s is not None and s.station.online for s in snaps)
    assert len(await _outbox(pool, "E-")) == 200
    await store.aclose()
