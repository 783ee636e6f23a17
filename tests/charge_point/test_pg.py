"""The ChargePoint actor on the real PostgreSQL: boot, status, transaction events, outbox rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.charge_point.ports import UnknownTokens
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.charge_point.transactions import StoreTransactionEvents
from sigec_actors.domain.records import NewStation
from sigec_actors.node_tree import NodeTree
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem
from sigec_actors.testing import FakeClock, MemoryEventBus, shutdown
from sigec_actors.testing.ocpp import FakeLink, make_deps
from tests.charge_point.conftest import BOOT, status, tx_event

pytestmark = pytest.mark.pg


@pytest.fixture
def pool(pg_pool: DbPool) -> DbPool:
    """The root conftest's pool on a migrated database of this module."""
    return pg_pool


@pytest.fixture
async def node(pool: DbPool) -> AsyncIterator[tuple[StationSessions, PgStationRepository]]:
    clock = FakeClock()  # drives timers only; storage is real
    stations = PgStationRepository(pool)
    deps = make_deps(clock, stations=stations,
                     transactions=StoreTransactionEvents(PgTransactionEventStore(pool),
                                                         UnknownTokens()),
                     audit=PgAuditLog(pool), bus=MemoryEventBus())
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    yield StationSessions(tree.charge_points, deps), stations
    await shutdown(system, clock)


async def call(sink: Any, link: FakeLink, mid: str, action: str, payload: dict) -> list[Any]:
    """Feed a CALL and wait (real time: real I/O) for its one answer."""
    await sink.on_frame(msgspec.json.encode([2, mid, action, payload]))
    for _ in range(500):
        answers = link.replies(mid)
        if answers:
            return answers[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer to {mid}")


async def outbox(pool: DbPool, station_id: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT subject FROM event_outbox WHERE payload->>'stationId' = $1"
                                " ORDER BY seq", station_id)
    return [r["subject"] for r in rows]


async def test_boot_status_and_presence_are_committed_with_outbox(
        node: tuple[StationSessions, PgStationRepository], pool: DbPool) -> None:
    sessions, stations = node
    await stations.register(NewStation(id="PG-1", security_profile=0))
    link = FakeLink("PG-1", 1)
    sink = await sessions.attach(link)
    assert (await call(sink, link, "b1", "BootNotification", BOOT))[2]["status"] == "Accepted"
    assert (await call(sink, link, "s1", "StatusNotification", status(1, 2, "Available")))[0] == 3
    station = await stations.get("PG-1")
    assert station is not None and station.online and station.vendor == "ACME"
    [connector] = await stations.connectors("PG-1")
    assert (connector.evse_id, connector.connector_id, connector.status.value) == (
        1, 2, "Available")
    assert await outbox(pool, "PG-1") == [
        "ocpp.device.connected", "ocpp.device.boot", "ocpp.device.status"]
    await sink.on_close(1000, "bye")
    station = await stations.get("PG-1")
    assert station is not None and not station.online
    assert (await outbox(pool, "PG-1"))[-1] == "ocpp.device.disconnected"


async def test_transaction_events_stored_once(
        node: tuple[StationSessions, PgStationRepository], pool: DbPool) -> None:
    sessions, stations = node
    await stations.register(NewStation(id="PG-2", security_profile=0))
    link = FakeLink("PG-2", 1)
    sink = await sessions.attach(link)
    await call(sink, link, "b1", "BootNotification", BOOT)
    started = tx_event("TX-9", 0, "Started", idToken={"idToken": "A", "type": "ISO14443"})
    first = await call(sink, link, "t1", "TransactionEvent", started)
    retry = await call(sink, link, "t2", "TransactionEvent", started)  # new id, same event
    await call(sink, link, "t3", "TransactionEvent", tx_event("TX-9", 1, "Ended"))
    assert first[0] == retry[0] == 3 and first[2] == retry[2]
    async with pool.acquire() as conn:
        seqs = await conn.fetch("SELECT seq_no FROM transaction_events WHERE charge_point_id ="
                                " 'PG-2' ORDER BY seq_no")
        tx = await conn.fetchrow("SELECT status, last_seq_no FROM transactions"
                                 " WHERE charge_point_id = 'PG-2'")
    assert [r["seq_no"] for r in seqs] == [0, 1]
    assert (tx["status"], tx["last_seq_no"]) == ("Ended", 1)
