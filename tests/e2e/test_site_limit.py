"""Smart charging through the real server (one per module): a 100 kW site with twenty simulated
stations whose sessions start and stop at random stays under its limit with every EVSE at its
floor; charging profiles are validated, stored when accepted, listed and cleared in step; the
station's smart-charging messages are stored and move the site's budget; NotifyEVChargingNeeds
is Accepted only when a (site-capped) plan follows. Last, two in-process nodes on the same
PostgreSQL and NATS: one runs the site, the other forwards to it and takes over when it goes."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
import pytest
import pytest_asyncio
from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.v201 import call

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg import create_pool
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem
from sigec_actors.simulator.charging import ChargingStation
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.v2g import V2GOptions
from sigec_actors.smart_charging.owners import SiteLocks
from sigec_actors.smart_charging.site import SendLimit
from sigec_actors.smart_charging.site_actor import LoadView, SiteDeps
from sigec_actors.smart_charging.sites import LocationIndex, Sites
from sigec_actors.smart_charging.store import PgSmartCharging
from tests.helpers.server import Api, ServerProcess, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")
LIMIT_W = 100_000
FLOOR_W = 4_140  # 6 A x 3 phases x 230 V
STATIONS = 20
STEPS = 30
CAR = V2GOptions(soc=10.0, battery_wh=100_000, meter_interval_s=60.0, time_scale=60.0)
T0 = "2026-12-02T10:00:00Z"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    """One server for the module (the profile and station-message tests share it)."""
    root: Path = tmp_path_factory.mktemp("site-limit")
    proc = ServerProcess(root / "data", server_env(root / "data", DATABASE_URL=pg_dsn,
                                                   NATS_URL=nats_url), root / "server.log")
    proc.start()
    yield proc
    assert proc.stop() == 0, proc.log()


@dataclass
class World:
    api: Api
    server: ServerProcess


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(server: ServerProcess) -> AsyncIterator[World]:
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        yield World(api, server)


async def _until(check: Callable[[], Awaitable[Any]], tries: int = 200) -> Any:
    for _ in range(tries):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def _site(admin: Api, limit_w: int = LIMIT_W) -> str:
    status, loc = await admin.call("POST", "/api/v1/admin/locations", {
        "name": "Garagem", "latitude": -23.55, "longitude": -46.63})
    assert status == 201, loc
    status, limits = await admin.call("PUT", f"/api/v1/admin/locations/{loc['id']}/limits", {
        "gridLimitW": limit_w, "strategy": "fair", "minPerEvseW": FLOOR_W,
        "maxPerEvseW": 22_000})
    assert status == 200, limits
    return str(loc["id"])


async def _site_station(server: ServerProcess, admin: Api, site: str, i: int,
                   rng: random.Random) -> ChargingStation:
    station_id = f"CP-SITE-{i:02d}-{uuid.uuid4().hex[:4]}"
    password = await admin.add_station(station_id)
    status, body = await admin.call("POST", f"/api/v1/admin/locations/{site}/stations",
                                    {"chargePointId": station_id})
    assert status == 200, body
    station = await ChargingStation.connect(server.ocpp, SimConfig(station_id, v2g=CAR),
                                            password=password)
    station.ev_max_w = rng.choice([7_400, 11_000, 22_000])
    assert (await station.boot()).status == "Accepted"
    return station


def _running(stations: list[ChargingStation]) -> dict[tuple[str, str], ChargingStation]:
    return {(s.config.station_id, tx.transaction_id): s
            for s in stations for tx in s.transactions.values()}


async def _settled(admin: Api, site: str, stations: list[ChargingStation]) -> dict[str, Any]:
    """The load once the site has every running session and each car draws what it was
    given (min of its maximum and the allocation)."""
    load: dict[str, Any] = {}
    for _ in range(400):
        status, load = await admin.call("GET", f"/api/v1/admin/locations/{site}/load")
        assert status == 200, load
        running = _running(stations)
        seen = {(e["chargePointId"], e["transactionId"]): e for e in load["evses"]}
        if set(seen) == set(running) and all(
                station.power_now()[1] == min(station.ev_max_w, seen[key]["allocatedW"])
                for key, station in running.items()):
            return load
        await asyncio.sleep(0.05)
    raise AssertionError(f"the site did not settle: {load}")


async def _site_profile_stored(admin: Api, site: str, station_id: str) -> bool:
    """The store holds the site's TxProfile the station holds (recorded after the sends)."""
    status, listed = await admin.call("GET", f"/api/v1/devices/{station_id}/charging-profiles")
    assert status == 200, listed
    load = (await admin.call("GET", f"/api/v1/admin/locations/{site}/load"))[1]
    [evse] = [e for e in load["evses"] if e["chargePointId"] == station_id]
    return any(r["source"] == "site" and r["profileId"] == 900_001
               and r["transactionId"] == evse["transactionId"]
               and r["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0][
                   "limit"] == evse["allocatedW"] for r in listed["items"])


async def test_twenty_stations_stay_under_the_site_limit(world: World) -> None:
    rng = random.Random(19)
    server, admin = world.server, world.api
    site = await _site(admin)
    stations = [await _site_station(server, admin, site, i, rng) for i in range(STATIONS)]
    try:

        async def defaults() -> bool:  # each booted station holds the site's floor
            return all(s.profiles.limit_w(1, "next", s._now()) == FLOOR_W for s in stations)

        await _until(defaults)
        peak = 0
        for _ in range(STEPS):
            station = rng.choice(stations)
            if station.transactions:
                await station.end_transaction(1)
            else:  # a new session starts at the site's floor (its TxDefaultProfile), not at
                # the car's maximum, until its own allocation arrives
                assert station.profiles.limit_w(1, "next", station._now()) == FLOOR_W
                await station.start_transaction(None)
            load = await _settled(admin, site, stations)
            drawn = {s.config.station_id: s.power_now()[1] for s in stations if s.transactions}
            assert sum(drawn.values()) <= LIMIT_W, (drawn, load)
            assert load["allocatedW"] <= LIMIT_W
            assert all(w >= FLOOR_W for w in drawn.values()), drawn
            peak = max(peak, len(drawn))
        assert peak >= 10  # the limit was binding: more cars than 100 kW at their max
        charging = next(s for s in stations if s.transactions)
        await _until(lambda: _site_profile_stored(admin, site, charging.config.station_id))
    finally:
        await asyncio.gather(*(s.close() for s in stations))


async def _station(world: World, refuse: frozenset[str] = frozenset()) -> ChargingStation:
    station_id = f"CP-SC-{uuid.uuid4().hex[:6]}"
    password = await world.api.add_station(station_id)
    station = await ChargingStation.connect(
        world.server.ocpp, SimConfig(station_id, v2g=CAR, refuse=refuse), password=password)
    assert (await station.boot()).status == "Accepted"
    return station


def _profile(pid: int, purpose: str = "TxDefaultProfile", **extra: Any) -> dict[str, Any]:
    return {"id": pid, "stackLevel": 1, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative", **extra,
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                                  "chargingSchedulePeriod": [{"startPeriod": 0,
                                                              "limit": 6000}]}]}


async def test_a_profile_is_validated_stored_listed_and_cleared(world: World) -> None:
    api, station = world.api, await _station(world)
    base = f"/api/v1/devices/{station.config.station_id}"
    try:
        status, problem = await api.call("POST", f"{base}/charging-profile", {
            "evseId": 1, "chargingProfile": _profile(7, "TxProfile")})
        assert status == 422 and "transactionId" in str(problem), problem
        status, problem = await api.call("POST", f"{base}/charging-profile", {
            "evseId": 1, "chargingProfile": _profile(7, "ChargingStationMaxProfile")})
        assert status == 422 and "evseId" in str(problem), problem
        bad = _profile(7)
        bad["chargingSchedule"][0]["chargingSchedulePeriod"] = [
            {"startPeriod": 60, "limit": 1}]
        status, problem = await api.call("POST", f"{base}/charging-profile",
                                         {"evseId": 1, "chargingProfile": bad})
        assert status == 422 and "startPeriod" in str(problem), problem
        assert station.stats.commands["SetChargingProfile"] == 0  # nothing invalid was sent

        status, answer = await api.call("POST", f"{base}/charging-profile",
                                        {"evseId": 1, "chargingProfile": _profile(7)})
        assert status == 200 and answer["status"] == "Accepted", answer
        status, listed = await api.call("GET", f"{base}/charging-profiles")
        assert status == 200
        [row] = listed["items"]
        assert (row["profileId"], row["purpose"], row["source"], row["status"]) == (
            7, "TxDefaultProfile", "api", "Accepted")
        assert row["chargingProfile"]["chargingSchedule"][0]["chargingRateUnit"] == "W"

        status, cleared = await api.call(
            "DELETE", f"{base}/charging-profile?evseId=1&purpose=TxDefaultProfile")
        assert status == 200 and cleared == {"status": "Accepted"}, cleared
        assert (await api.call("GET", f"{base}/charging-profiles"))[1]["items"] == []
    finally:
        await station.close()


async def test_a_refused_profile_is_not_stored(world: World) -> None:
    api = world.api
    station = await _station(world, refuse=frozenset({"SetChargingProfile"}))
    base = f"/api/v1/devices/{station.config.station_id}"
    try:
        status, answer = await api.call("POST", f"{base}/charging-profile",
                                        {"evseId": 1, "chargingProfile": _profile(8)})
        assert status == 200 and answer["status"] == "Rejected"
        assert (await api.call("GET", f"{base}/charging-profiles"))[1]["items"] == []
    finally:
        await station.close()


async def test_composite_schedule_and_profiles_report_are_sent(world: World) -> None:
    api, station = world.api, await _station(world)
    base = f"/api/v1/devices/{station.config.station_id}"
    try:
        status, answer = await api.call(
            "GET", f"{base}/composite-schedule?evseId=1&durationS=600&unit=W")
        assert status == 200 and answer["status"] == "Accepted", answer
        status, answer = await api.call("POST", f"{base}/charging-profiles/report",
                                        {"purpose": "TxProfile"})
        assert status == 200 and answer["status"] == "NoProfiles", answer
        assert station.stats.commands["GetCompositeSchedule"] == 1
        assert station.stats.commands["GetChargingProfiles"] == 1
        status, _ = await api.call("GET", f"{base}/composite-schedule?durationS=0")
        assert status == 422
        status, _ = await api.call("GET", "/api/v1/devices/NOPE/composite-schedule")
        assert status == 404
    finally:
        await station.close()


async def test_reported_profiles_and_ev_schedules_are_stored(world: World) -> None:
    api, station = world.api, await _station(world)
    base = f"/api/v1/devices/{station.config.station_id}"
    reported = {"id": 41, "stack_level": 0, "charging_profile_purpose": "ChargingStationMaxProfile",
                "charging_profile_kind": "Relative", "charging_schedule": [{
                    "id": 1, "charging_rate_unit": "A",
                    "charging_schedule_period": [{"start_period": 0, "limit": 32}]}]}
    try:
        await station.call(call.ReportChargingProfiles(
            request_id=1, charging_limit_source="CSO", evse_id=0,
            charging_profile=[reported]), suppress=False)
        [row] = (await api.call("GET", f"{base}/charging-profiles"))[1]["items"]
        assert (row["profileId"], row["source"], row["status"], row["limitSource"]) == (
            41, "station", "Reported", "CSO")
        answer = await station.call(call.NotifyEVChargingSchedule(
            time_base=datetime.now(UTC).isoformat(), evse_id=1, charging_schedule={
                "id": 1, "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": 7000}]}),
            suppress=False)
        assert answer.status == "Accepted"
        with pytest.raises(PropertyConstraintViolationError):  # refused, not "retry later"
            await station.call(call.NotifyEVChargingSchedule(
                time_base=datetime.now(UTC).isoformat(), evse_id=0, charging_schedule={
                    "id": 1, "charging_rate_unit": "W",
                    "charging_schedule_period": [{"start_period": 0, "limit": 7000}]}),
                suppress=False)
    finally:
        await station.close()


async def test_external_limit_shrinks_the_site_and_ev_needs_get_a_plan(world: World) -> None:
    api = world.api
    status, loc = await api.call("POST", "/api/v1/admin/locations", {
        "name": "Loja", "latitude": -22.9, "longitude": -43.2})
    assert status == 201
    site = f"/api/v1/admin/locations/{loc['id']}"
    assert (await api.call("GET", f"{site}/load"))[0] == 404  # no limit yet
    status, _ = await api.call("PUT", f"{site}/limits", {"gridLimitW": 20_000,
                                                          "minPerEvseW": 1_400})
    assert status == 200
    a, b = await _station(world), await _station(world)
    try:
        for s in (a, b):
            status, _ = await api.call("POST", f"{site}/stations",
                                       {"chargePointId": s.config.station_id})
            assert status == 200
            await s.start_transaction(None)

        async def load() -> dict[str, Any] | None:
            body = (await api.call("GET", f"{site}/load"))[1]
            return body if len(body["evses"]) == 2 and body["allocatedW"] == 20_000 else None

        await _until(load)
        await a.call(call.NotifyChargingLimit(
            charging_limit={"charging_limit_source": "EMS"}, evse_id=0, charging_schedule=[{
                "id": 1, "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": 5000}]}]),
            suppress=False)

        async def shrunk() -> dict[str, Any] | None:
            body = (await api.call("GET", f"{site}/load"))[1]
            return body if body["externalW"] == 5_000 and body["allocatedW"] == 15_000 else None

        await _until(shrunk)
        await a.call(call.ClearedChargingLimit(charging_limit_source="EMS"), suppress=False)
        await _until(load)

        needs = {"requested_energy_transfer": "AC_three_phase",
                 "departure_time": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
                 "ac_charging_parameters": {"energy_amount": 20_000, "ev_min_current": 6,
                                            "ev_max_current": 16, "ev_max_voltage": 230}}
        answer = await a.call(call.NotifyEVChargingNeeds(charging_needs=needs, evse_id=1),
                              suppress=False)
        assert answer.status == "Accepted"
        await _until(lambda: _has_ev_plan(a))
        plan = a.profiles.by_id[800_001]
        share = {e["chargePointId"]: e["allocatedW"]
                 for e in (await api.call("GET", f"{site}/load"))[1]["evses"]}
        assert share[a.config.station_id] == 10_000  # the car could take 11,040 W
        assert max(w for _, w in plan.periods) == 10_000  # the plan carries the site's cap
        no_departure = {"requested_energy_transfer": "DC"}
        answer = await b.call(call.NotifyEVChargingNeeds(charging_needs=no_departure,
                                                         evse_id=1), suppress=False)
        assert answer.status == "Rejected"
    finally:
        await asyncio.gather(a.close(), b.close())
    assert (await api.call("PUT", f"/api/v1/admin/locations/{uuid.uuid4()}/limits",
                           {"gridLimitW": 1}))[0] == 404


async def _has_ev_plan(station: ChargingStation) -> bool:
    return any(p.id == 800_001 and p.stack_level == 60 for p in station.profiles.by_id.values())


@dataclass
class Node:
    system: ActorSystem
    sites: Sites
    sent: list[SendLimit]


async def _node(name: str, pool: DbPool, nc: Any, prefix: str) -> Node:
    system = ActorSystem(name=name)
    tree = await NodeTree.start(system)
    sent: list[SendLimit] = []

    async def send(limit: SendLimit) -> bool:
        sent.append(limit)
        return True

    store = PgSmartCharging(pool)
    holder: list[Sites] = []
    sites = Sites(tree.sites, SiteDeps(store, send), LocationIndex(store.location_of),
                  bus=NatsEventBus(nc), prefix=prefix,
                  locks=SiteLocks(pool, lambda: holder[0].given_up(),  # noqa: PLW0108
                                  check_s=0.2))
    holder.append(sites)
    sites.start()
    return Node(system, sites, sent)


def _started(tx: str, evse: int = 1) -> TransactionEventRequest:
    return msgspec.convert({
        "eventType": "Started", "timestamp": T0, "triggerReason": "Authorized", "seqNo": 0,
        "transactionInfo": {"transactionId": tx}, "evse": {"id": evse, "connectorId": 1}},
        TransactionEventRequest)


@pytest_asyncio.fixture(loop_scope="module")
async def pool(server: ServerProcess, pg_dsn: str) -> AsyncIterator[DbPool]:
    """A pool on the server's database (migrated by the server)."""
    pool = await create_pool(pg_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def cluster_site(pool: DbPool) -> AsyncIterator[uuid.UUID]:
    async with pool.acquire() as conn:
        location = await conn.fetchval(
            "INSERT INTO locations (name, latitude, longitude) VALUES ('L', 0, 0) RETURNING id")
        await conn.execute("INSERT INTO site_limits VALUES ($1, 20000, 'fair', 1000, 22000)",
                           location)
        for sid in ("CP-A", "CP-B"):  # registered, never connected to the server
            await conn.execute("INSERT INTO charge_points (id, location_id) VALUES ($1, $2)",
                               sid, location)
    yield location


async def test_one_node_runs_the_site_the_other_forwards(pool: DbPool, nats_url: str,
                                                         cluster_site: uuid.UUID) -> None:
    site = cluster_site
    nc1, nc2 = await nats.connect(nats_url), await nats.connect(nats_url)
    prefix = f"sigec.test.site.{uuid.uuid4().hex[:8]}"
    one = await _node("node-1", pool, nc1, prefix)
    two = await _node("node-2", pool, nc2, prefix)
    try:
        one.sites.transaction_event("CP-A", _started("tx-a"))
        await _until(lambda: _runs_site(one, site))
        two.sites.transaction_event("CP-B", _started("tx-b"))  # CP-B is held by node 2

        async def both() -> LoadView | None:
            view = await two.sites.load(site)  # asked of node 1 over NATS
            return view if view is not None and len(view.evses) == 2 else None

        view = await _until(both)
        assert view.allocated_w == 20_000 and {e.allocated_w for e in view.evses} == {10_000}
        assert two.sites.ref(site) is None  # only node 1 runs it
        assert {(s.station_id, s.watts) for s in one.sent[-2:]} == {("CP-A", 10_000),
                                                                    ("CP-B", 10_000)}
        assert two.sent == []

        await one.sites.aclose()  # node 1 goes: its lock is released
        await one.system.shutdown()

        async def taken_over() -> bool:  # the station's next events (its meter values)
            two.sites.transaction_event("CP-B", _started("tx-b"))
            return await _runs_site(two, site)

        await _until(taken_over)  # within RECLAIM_AFTER_S (2 s) of the last refused claim
    finally:
        await two.sites.aclose()
        await two.system.shutdown()
        await nc1.close()
        await nc2.close()


async def _runs_site(node: Node, location: uuid.UUID) -> bool:
    return node.sites.ref(location) is not None
