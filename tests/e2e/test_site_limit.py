"""A 100 kW site with twenty simulated stations through the real server: sessions start and
stop at random; after each re-allocation the power the cars draw stays under the limit and
every charging EVSE gets at least its floor (the limit allows it for twenty)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sigec_actors.simulator.charging import ChargingStation
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.v2g import V2GOptions
from tests.helpers.server import Api, ServerProcess, server_env

LIMIT_W = 100_000
FLOOR_W = 4_140  # 6 A x 3 phases x 230 V
STATIONS = 20
STEPS = 30
CAR = V2GOptions(soc=10.0, battery_wh=100_000, meter_interval_s=60.0, time_scale=60.0)


pytestmark = pytest.mark.asyncio(loop_scope="module")


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


async def _site(admin: Api, limit_w: int = LIMIT_W) -> str:
    status, loc = await admin.call("POST", "/api/v1/admin/locations", {
        "name": "Garagem", "latitude": -23.55, "longitude": -46.63})
    assert status == 201, loc
    status, limits = await admin.call("PUT", f"/api/v1/admin/locations/{loc['id']}/limits", {
        "gridLimitW": limit_w, "strategy": "fair", "minPerEvseW": FLOOR_W,
        "maxPerEvseW": 22_000})
    assert status == 200, limits
    return str(loc["id"])


async def _station(server: ServerProcess, admin: Api, site: str, i: int,
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


async def test_twenty_stations_stay_under_the_site_limit(server: ServerProcess) -> None:
    rng = random.Random(19)
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        site = await _site(admin)
        stations = [await _station(server, admin, site, i, rng) for i in range(STATIONS)]
        try:
            peak = 0
            for _ in range(STEPS):
                station = rng.choice(stations)
                if station.transactions:
                    await station.end_transaction(1)
                else:
                    await station.start_transaction(None)
                load = await _settled(admin, site, stations)
                drawn = {s.config.station_id: s.power_now()[1]
                         for s in stations if s.transactions}
                assert sum(drawn.values()) <= LIMIT_W, (drawn, load)
                assert load["allocatedW"] <= LIMIT_W
                assert all(w >= FLOOR_W for w in drawn.values()), drawn
                peak = max(peak, len(drawn))
            assert peak >= 10  # the limit was binding: more cars than 100 kW at their max
        finally:
            await asyncio.gather(*(s.close() for s in stations))
