"""Through the real server with the --v2g simulator: with autoDischarge on, the optimized plan
starts its discharge session by itself at its first window; a location's submarket set over
REST (from its state) gives its stations that submarket's prices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.e2e.test_v2g_discharge import _owner_with_transaction, _prices, _until
from tests.helpers.server import Api, ServerProcess, server_env


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_V2G__PLAN_CHECK_INTERVAL_S="0.5"), tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


async def _not_at_the_end_of_an_hour(margin_s: float = 10.0) -> None:
    """Wait out the hour's last seconds: a slot shorter than a watt-hour at the car's power is
    not planned, so the first window would rightly start at the next hour."""
    now = datetime.now(UTC)
    left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left < margin_s:
        await asyncio.sleep(left + 0.1)


async def test_auto_discharge_starts_the_plan_at_its_first_window(server: ServerProcess) -> None:
    await _prices(server.dsn)  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        _, ana, station, station_id = await _owner_with_transaction(server, http)
        async with station:
            departure = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
            body = {"chargePointId": station_id, "departureAt": departure, "minSoc": 60}
            status, manual = await ana.call("POST", "/api/v1/v2g/optimize", body)
            assert status == 200 and manual["scheduled"] is False, manual  # autoDischarge off
            assert (await ana.call("POST", "/api/v1/v2g/preferences",
                                   {"autoDischarge": True}))[0] == 200
            await _not_at_the_end_of_an_hour()
            status, planned = await ana.call("POST", "/api/v1/v2g/optimize", body)
            assert status == 200 and planned["scheduled"] is True, planned
            assert planned["windows"][0]["start"] <= datetime.now(UTC).isoformat()
            plans = await _until(ana, "/api/v1/v2g/plans",
                                 lambda b: bool(b["items"] and b["items"][0]["sessionIds"]))
            plan = plans["items"][0]
            assert plan["id"] == planned["planId"] and plan["status"] == "started"
            assert plan["runs"][-1]["end"] == plan["windows"][-1]["end"]
            session_id = plan["sessionIds"][0]
            session = await _until(ana, f"/api/v1/v2g/session/{session_id}",
                                   lambda s: s["status"] in ("active", "completed"))
            assert session["minSoc"] == 60 and session["chargePointId"] == station_id
            # the car reaches its floor; the session is paid like one started by hand
            done = await _until(ana, f"/api/v1/v2g/session/{session_id}",
                                lambda s: s["compensation"]["status"] == "paid")
            assert done["stopReason"] == "min_soc" and done["exportedWh"] > 0
            status, cancelled = await ana.call("DELETE", f"/api/v1/v2g/plans/{plan['id']}")
            assert status == 200, cancelled
            assert cancelled["status"] in ("cancelled", "expired")
            assert len(cancelled["sessionIds"]) == 1  # one run, one session


async def test_a_location_in_bahia_gives_its_station_northeast_prices(
        server: ServerProcess) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        await conn.executemany(
            "INSERT INTO v2g_grid_prices (region, starts_at, price_centavos_mwh, source)"
            " VALUES ($1, $2, $3, 'csv')", [("SE_CO", hour, 51_966), ("NE", hour, 31_163)])
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        status, loc = await admin.call("POST", "/api/v1/admin/locations", {
            "name": "Posto Salvador", "latitude": -12.97, "longitude": -38.50,
            "address": "Av. Sete de Setembro 100, Salvador - BA"})
        assert status == 201 and (loc["state"], loc["submarket"]) == ("BA", "NE"), loc
        status, _ = await admin.call("POST", "/api/v1/admin/stations", {
            "id": "CP-BA-1", "securityProfile": 1,
            "location": {"name": "Posto Salvador 2", "latitude": -12.98, "longitude": -38.51}})
        assert status == 201
        status, stations = await admin.call("GET", "/api/v1/admin/stations")
        location_id = next(s["locationId"] for s in stations["items"] if s["id"] == "CP-BA-1")
        url = "/api/v1/v2g/grid-price?chargePointId=CP-BA-1"
        status, before = await admin.call("GET", url)
        assert status == 200 and before["submarket"] == "SE"  # no submarket yet: the default
        assert (await admin.call("PATCH", f"/api/v1/admin/locations/{location_id}",
                                 {"submarket": "CO"}))[0] == 422
        status, patched = await admin.call("PATCH", f"/api/v1/admin/locations/{location_id}",
                                           {"state": "BA"})
        assert status == 200 and patched["submarket"] == "NE", patched
        status, after = await admin.call("GET", url)
        assert status == 200, after
        assert (after["submarket"], after["pldCentavosPerMwh"]) == ("NE", 31_163)
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        actions = await conn.fetch("SELECT action, target_id, details FROM audit_log"
                                   " WHERE target_type = 'location' ORDER BY id")
    finally:
        await conn.close()
    assert [(a["action"], a["target_id"]) for a in actions] == [
        ("location.create", loc["id"]), ("location.update", location_id)]
