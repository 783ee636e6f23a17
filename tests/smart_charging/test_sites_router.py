"""The node's Sites: events reach their location's site in order, none dropped when it is busy."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec

from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.runtime import ActorSystem
from sigec_actors.smart_charging.allocation import Strategy
from sigec_actors.smart_charging.site import SendLimit
from sigec_actors.smart_charging.site_actor import SiteDeps
from sigec_actors.smart_charging.sites import LocationIndex, Sites
from sigec_actors.smart_charging.store import ActiveSession, SiteLimits

LOCATION = uuid.uuid4()


class Store:
    async def site(self, location_id: uuid.UUID) -> SiteLimits | None:
        return SiteLimits(location_id=LOCATION, grid_limit_w=100_000, strategy=Strategy.FAIR,
                          min_per_evse_w=1_000, max_per_evse_w=22_000)

    async def active_sessions(self, location_id: uuid.UUID) -> list[ActiveSession]:
        return []

    async def external_limits_w(self, location_id: uuid.UUID) -> int:
        return 0

    async def online_stations(self, location_id: uuid.UUID) -> list[str]:
        return []


def started(tx: str) -> TransactionEventRequest:
    return msgspec.convert({
        "eventType": "Started", "timestamp": "2026-12-02T10:00:00Z", "seqNo": 0,
        "triggerReason": "Authorized", "transactionInfo": {"transactionId": tx},
        "evse": {"id": 1, "connectorId": 1}}, TransactionEventRequest)


async def test_a_busy_site_gets_every_session_late_but_none_dropped() -> None:
    gate = asyncio.Event()
    sent: list[SendLimit] = []

    async def send(limit: SendLimit) -> bool:
        await gate.wait()  # the stations answer slowly
        sent.append(limit)
        return True

    async def location_of(station_id: str) -> uuid.UUID | None:
        return LOCATION if station_id.startswith("CP-") else None

    system = ActorSystem(name="node-1")
    tree = await NodeTree.start(system)
    sites = Sites(tree.sites, SiteDeps(Store(), send), LocationIndex(location_of),
                  mailbox_size=2)
    sites.start()
    try:
        for i in range(12):  # far more than the mailbox while the first send waits
            sites.transaction_event(f"CP-{i}", started(f"tx-{i}"))
        sites.transaction_event("ELSEWHERE", started("tx-x"))  # no site: ignored
        await asyncio.sleep(0.2)
        gate.set()

        async def everyone() -> Any:
            view = await sites.load(LOCATION)
            return view if view is not None and len(view.evses) == 12 else None

        for _ in range(200):
            view = await everyone()
            if view:
                break
            await asyncio.sleep(0.02)
        assert view and view.allocated_w <= 100_000
        assert {e.charge_point_id for e in view.evses} == {f"CP-{i}" for i in range(12)}
    finally:
        gate.set()
        await sites.aclose()
        await system.shutdown()


async def test_a_station_location_is_read_again_after_its_ttl() -> None:
    now = [0.0]
    answers = iter([None, LOCATION])
    calls: list[str] = []

    async def lookup(station_id: str) -> uuid.UUID | None:
        calls.append(station_id)
        return next(answers)

    index = LocationIndex(lookup, ttl_s=30.0, clock=lambda: now[0])
    assert await index.of("CP-1") is None
    now[0] = 29.0
    assert await index.of("CP-1") is None and calls == ["CP-1"]  # cached
    now[0] = 30.0  # linked through another node meanwhile
    assert await index.of("CP-1") == LOCATION and calls == ["CP-1", "CP-1"]


async def test_the_router_survives_a_bus_that_fails() -> None:
    class NatsDown(Exception):  # like nats.errors.ConnectionClosedError: not an OSError
        pass

    class BrokenBus:
        async def publish(self, subject: str, data: bytes, headers: Any = None) -> None:
            raise NatsDown

    class ElsewhereLocks:  # another node holds every site
        def held(self, location_id: uuid.UUID) -> bool:
            return False

        async def claim(self, location_id: uuid.UUID) -> bool:
            return False

        async def aclose(self) -> None:
            return None

    seen: list[str] = []

    async def location_of(station_id: str) -> uuid.UUID | None:
        seen.append(station_id)
        return LOCATION

    async def send(limit: SendLimit) -> bool:
        return True

    system = ActorSystem(name="node-1")
    tree = await NodeTree.start(system)
    sites = Sites(tree.sites, SiteDeps(Store(), send), LocationIndex(location_of),
                  bus=BrokenBus(), locks=ElsewhereLocks())  # type: ignore[arg-type]
    sites.start()
    try:
        sites.transaction_event("CP-1", started("tx-1"))  # its publish fails
        for _ in range(100):
            await asyncio.sleep(0.01)
            if seen:
                break
        sites.transaction_event("CP-2", started("tx-2"))  # still routed by a new task
        for _ in range(100):
            await asyncio.sleep(0.01)
            if "CP-2" in seen:
                break
        assert seen == ["CP-1", "CP-2"]
    finally:
        await sites.aclose()
        await system.shutdown()
