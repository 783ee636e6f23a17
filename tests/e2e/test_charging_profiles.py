"""Charging profiles and the station's smart-charging messages through the real server: a
profile is validated, stored only when accepted, listed and cleared in step; the composite
schedule and the profiles report are asked of the station; external limits shrink a site's
budget; NotifyEVChargingNeeds is Accepted only when a TxProfile follows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from ocpp.v201 import call

from sigec_actors.simulator.charging import ChargingStation
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.v2g import V2GOptions
from tests.helpers.server import Api, ServerProcess, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")
CAR = V2GOptions(soc=10.0, battery_wh=100_000, meter_interval_s=600.0, time_scale=1.0)


@dataclass
class World:
    api: Api
    server: ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("profiles")
    proc = ServerProcess(root / "data", server_env(root / "data", DATABASE_URL=pg_dsn,
                                                   NATS_URL=nats_url), root / "server.log")
    proc.start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(server: ServerProcess) -> AsyncIterator[World]:
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        yield World(api, server)


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


async def _until(check: Any, tries: int = 200) -> Any:
    for _ in range(tries):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


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
        assert status == 200 and cleared == {"status": "Accepted", "removed": 1}, cleared
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
