"""A discharge through the real server with the bidirectional simulator: 80 % SoC to the user's
floor across an hour boundary, the profile cleared, the metered export paid once to the wallet;
and a station that rejects the profile (502, the session failed)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats
import pytest
from nats.aio.msg import Msg

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from sigec_actors.simulator.v2g import V2GOptions
from sigec_actors.v2g.pricing import HourPrice, RetailPolicy, Submarket, compensate, split_by_hour
from tests.helpers.server import Api, ServerProcess, server_env

PLD = [31_000, 47_000, 52_000, 29_000, 38_000, 41_000]  # centavos/MWh, one per hour from now-1h
POLICY = RetailPolicy("2026-1", 1_000_000, 0, 1000)  # the [v2g] defaults
# 60 kWh car from 80 % to 60 %: 12 kWh at 7 kW is 103 simulated minutes (always crosses an
# hour); 600x simulated time makes it about 10 s of wall time.
CAR = V2GOptions(soc=80.0, battery_wh=60_000, meter_interval_s=120.0, time_scale=600.0)
# the same car at 60x with a sample every simulated minute (1 s): 80 % to 70 % takes ~50 s, so
# a stop by the user comes first
SLOW = V2GOptions(soc=80.0, battery_wh=60_000, meter_interval_s=60.0, time_scale=60.0)


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


async def _prices(dsn: str) -> dict[datetime, HourPrice]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    hours = {start + timedelta(hours=i): pld for i, pld in enumerate(PLD)}
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO v2g_grid_prices (region, starts_at, price_centavos_mwh, source)"
            " VALUES ('SE_CO', $1, $2, 'csv')", list(hours.items()))
    finally:
        await conn.close()
    return {h: HourPrice(Submarket.SE, h, p, False, "csv") for h, p in hours.items()}


async def _owner_with_transaction(server: ServerProcess, http: aiohttp.ClientSession,
                                  refuse: frozenset[str] = frozenset(), car: V2GOptions = CAR
                                  ) -> tuple[Api, Api, SimulatedStation, str]:
    station_id = f"CP-V2G-{uuid.uuid4().hex[:6]}"
    admin = Api(server.http, http)
    await admin.login()
    password = await admin.add_station(station_id)
    status, cap = await admin.call("PATCH", f"/api/v1/admin/stations/{station_id}", {
        "v2g": {"mode": "v201_negative_limit", "maxDischargeW": 7000}})
    assert status == 200 and cap["supported"] is True, cap
    ana = Api(server.http, http)
    email = f"ana-{uuid.uuid4().hex[:6]}@example.com"
    await ana.call("POST", "/api/v1/auth/register", {
        "name": "Ana", "email": email, "password": "a long passphrase"})
    await ana.login(email, "a long passphrase")
    await ana.call("POST", "/api/v1/users/me/id-tokens", {"idToken": f"RFID-{station_id}"})
    station = await SimulatedStation.connect(
        server.ocpp, SimConfig(station_id, v2g=car, refuse=refuse), password=password)
    assert (await station.boot()).status == "Accepted"
    await station.start_transaction(f"RFID-{station_id}")
    return admin, ana, station, station_id


async def _until(api: Api, path: str, done: Any, tries: int = 300) -> Any:
    body = None
    for _ in range(tries):
        status, body = await api.call("GET", path)
        if status == 200 and done(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: never done, last {body}")


async def test_discharge_from_80_to_the_floor_is_paid_to_the_wallet(
        server: ServerProcess) -> None:
    prices = await _prices(server.dsn)  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        admin, ana, station, station_id = await _owner_with_transaction(server, http)
        async with station:
            bob = Api(server.http, http)
            await bob.call("POST", "/api/v1/auth/register", {
                "name": "Bob", "email": "bob@example.com", "password": "bob's passphrase"})
            await bob.login("bob@example.com", "bob's passphrase")
            body = {"chargePointId": station_id, "minSoc": 60}
            assert (await bob.call("POST", "/api/v1/v2g/discharge/start", body))[0] == 403
            status, started = await ana.call("POST", "/api/v1/v2g/discharge/start", body)
            assert status == 201, started
            session = started["session"]
            assert session["status"] == "active" and session["minSoc"] == 60
            assert (await ana.call("POST", "/api/v1/v2g/discharge/start", body))[0] == 409
            status, tree = await admin.call("GET", "/api/v1/admin/actors")
            assert f"/v2g/{session['id']}" in str(tree)
            done = await _until(ana, f"/api/v1/v2g/session/{session['id']}",
                                lambda s: s["compensation"]["status"] == "paid")
        assert done["status"] == "completed" and done["stopReason"] == "min_soc"
        assert done["startSoc"] == 80 and done["currentSoc"] <= 60
        assert done["exportedWh"] >= 11_000
        # the payout is the hand computation over the stored samples and hourly prices
        conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
        try:
            rows = await conn.fetch("SELECT occurred_at, energy_wh FROM v2g_events WHERE"
                                    " session_id = $1 AND event_type = 'meter'",
                                    uuid.UUID(session["id"]))
        finally:
            await conn.close()
        by_hour = split_by_hour([(r["occurred_at"], r["energy_wh"]) for r in rows])
        assert len(by_hour) >= 2  # across an hour boundary
        expected = compensate(by_hour, prices, POLICY)
        assert done["compensation"]["netCentavos"] == expected.net_centavos > 0
        assert done["compensation"]["grossCentavos"] == expected.gross_centavos
        wallet = await _until(ana, "/api/v1/wallet", lambda w: w["balanceCentavos"] > 0)
        assert wallet == {"balanceCentavos": expected.net_centavos, "currency": "BRL",
                          "pendingCentavos": 0}
        status, lines = await ana.call("GET", "/api/v1/wallet/transactions")
        assert status == 200 and lines["total"] == 1
        assert lines["items"][0]["kind"] == "v2g_payout"
        assert lines["items"][0]["balanceAfterCentavos"] == expected.net_centavos
        status, stats = await ana.call("GET", "/api/v1/v2g/stats?period=all")
        assert stats["sessions"] == 1 and stats["earningsCentavos"] == expected.net_centavos


async def test_rejected_profile_answers_502_and_the_session_fails(
        server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        _, ana, station, station_id = await _owner_with_transaction(
            server, http, refuse=frozenset({"SetChargingProfile"}))
        async with station:
            status, problem = await ana.call("POST", "/api/v1/v2g/discharge/start",
                                             {"chargePointId": station_id, "minSoc": 50})
            assert status == 502, problem
            assert problem["reason"].startswith("Rejected")
            status, failed = await ana.call("GET", f"/api/v1/v2g/session/{problem['sessionId']}")
            assert status == 200 and failed["status"] == "failed"
            assert failed["stopReason"].startswith("rejected")
            # the EVSE is free again: no live session holds it
            assert (await ana.call("GET", f"/api/v1/v2g/session/active/{station_id}"))[0] == 404


async def test_preferences_capability_user_stop_and_events_through_rest(
        server: ServerProcess, nats_url: str) -> None:
    """The routes a newcomer uses around a session, each checked against what it did: the
    preferences round-trip (preserveSoc raises the session's floor, maxDischargeWh caps it),
    the capability with the car's SoC, the live session, a stop by the user, stats by period,
    and the session's six-subject lifecycle on NATS."""
    await _prices(server.dsn)  # type: ignore[attr-defined]
    seen: list[tuple[str, dict[str, Any]]] = []
    nc = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=3)

    async def keep(msg: Msg) -> None:
        seen.append((msg.subject, json.loads(msg.data)))

    sub = await nc.subscribe("v2g.>", cb=keep)
    try:
        async with aiohttp.ClientSession() as http:
            _, ana, station, station_id = await _owner_with_transaction(server, http, car=SLOW)
            async with station:
                prefs = {"autoDischarge": False, "minGridPriceCentavosPerKwh": 1,
                         "maxDischargeWh": 50_000, "preserveSoc": 70,
                         "notifications": {"onStart": False, "onEnd": True}}
                status, saved = await ana.call("POST", "/api/v1/v2g/preferences", prefs)
                assert status == 200 and saved == prefs, saved
                assert await ana.call("GET", "/api/v1/v2g/preferences") == (200, prefs)
                cap = await _until(ana, f"/api/v1/v2g/capability/{station_id}",
                                   lambda c: c["evses"][0]["currentSoc"] is not None)
                assert cap == {"chargePointId": station_id, "supported": True,
                               "mode": "v201_negative_limit", "maxDischargeW": 7000,
                               "evses": [{"evseId": 1, "supported": True, "currentSoc": 80}]}
                status, started = await ana.call("POST", "/api/v1/v2g/discharge/start",
                                                 {"chargePointId": station_id, "minSoc": 10})
                assert status == 201, started
                sid = started["session"]["id"]
                assert started["session"]["minSoc"] == 70  # preserveSoc, not 10
                live = await _until(ana, f"/api/v1/v2g/session/active/{station_id}",
                                    lambda s: s["exportedWh"] > 0)
                assert live["id"] == sid and live["status"] == "active"
                assert live["powerW"] > 0 and live["currentSoc"] <= 80
                status, stopped = await ana.call("POST", "/api/v1/v2g/discharge/stop",
                                                 {"sessionId": sid})
                assert status == 200, stopped
                assert stopped["id"] == sid and stopped["stopReason"] == "user"
                assert stopped["status"] in ("stopping", "completed")
                assert (await ana.call("POST", "/api/v1/v2g/discharge/stop",
                                       {"sessionId": str(uuid.uuid4())}))[0] == 404
                done = await _until(ana, f"/api/v1/v2g/session/{sid}",
                                    lambda s: s["compensation"]["status"] == "paid")
                assert done["status"] == "completed" and done["currentSoc"] > 70
                assert station.profiles.power_w(1, station.transactions[1].transaction_id,
                                                station._now()) == 0  # the profile was cleared
            net = done["compensation"]["netCentavos"]
            assert net > 0
            for period in ("day", "week", "month", "all"):
                status, stats = await ana.call("GET", f"/api/v1/v2g/stats?period={period}")
                assert status == 200 and stats["period"] == period
                assert (stats["sessions"], stats["exportedWh"], stats["earningsCentavos"]) == (
                    1, done["exportedWh"], net)
                assert stats["byDay"][0]["earningsCentavos"] == net
            assert (await ana.call("GET", "/api/v1/v2g/stats?period=year"))[0] == 422
            mine: dict[str, int] = {}
            for _ in range(100):
                mine = {}
                for subject, payload in seen:
                    if payload.get("sessionId") == sid:
                        mine[subject] = mine.get(subject, 0) + 1
                if "v2g.compensation.paid" in mine:
                    break
                await asyncio.sleep(0.1)
            assert mine.keys() == {"v2g.session.started", "v2g.session.updated",
                                   "v2g.session.completed", "v2g.compensation.calculated",
                                   "v2g.compensation.paid"}, mine
            assert mine["v2g.session.completed"] == mine["v2g.compensation.paid"] == 1
    finally:
        await sub.unsubscribe()
        await nc.close()

