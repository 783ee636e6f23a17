"""The node process is SIGKILLed mid-discharge and started again: the station reconnects, the
session is resumed from PostgreSQL (its baseline and export kept), reaches the floor, is
cleared and paid exactly once the hand-computed amount."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg

from sigec_actors.simulator.v2g import V2GOptions
from sigec_actors.v2g.pricing import compensate, split_by_hour
from tests.e2e.test_v2g_discharge import POLICY, _owner_with_transaction, _prices, _until
from tests.helpers.server import Api, ServerProcess, free_port, server_env

# 80 % to 75 % of 60 kWh at 7 kW is ~26 simulated minutes, ~13 s of wall time at 120x; meter
# values are sent by the test (the simulator's own loop would end with the killed socket)
CAR = V2GOptions(soc=80.0, battery_wh=60_000, meter_interval_s=10**6, time_scale=120.0)


async def _samples(dsn: str, session_id: str) -> list[tuple[datetime, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT occurred_at, energy_wh FROM v2g_events WHERE"
                                " session_id = $1 AND event_type = 'meter'",
                                uuid.UUID(session_id))
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = 'v2g_compensation'"
            " AND source_id = $1", session_id)
    finally:
        await conn.close()
    assert entries == 1, f"{entries} payouts"
    return [(r["occurred_at"], r["energy_wh"]) for r in rows]


async def test_a_node_killed_mid_discharge_resumes_it_and_pays_once(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, server_env(
        data, DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url, SIGEC_HTTP_PORT=str(free_port()),
        SIGEC_OCPP_PORT=str(free_port())), tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    try:
        prices = await _prices(fresh_pg_dsn)
        async with aiohttp.ClientSession() as http:
            _, ana, station, station_id = await _owner_with_transaction(server, http, car=CAR)
            async with station:
                status, started = await ana.call("POST", "/api/v1/v2g/discharge/start",
                                                 {"chargePointId": station_id, "minSoc": 75})
                assert status == 201, started
                sid = started["session"]["id"]
                for _ in range(3):  # the baseline, then some export
                    await asyncio.sleep(0.7)
                    await station.update_transaction(add_wh=0)
                before = await _until(ana, f"/api/v1/v2g/session/{sid}",
                                      lambda s: s["exportedWh"] > 0)
                assert before["status"] == "active"

                server.stop(signal.SIGKILL, timeout_s=5)  # the node dies mid-session
                await asyncio.to_thread(server.start)
                await station.reconnect()
                ana = Api(server.http, http)
                await ana.login(await _email_of(fresh_pg_dsn, sid), "a long passphrase")
                done = None
                for _ in range(120):  # meter values until the resumed session ends
                    await station.update_transaction(add_wh=0)
                    status, done = await ana.call("GET", f"/api/v1/v2g/session/{sid}")
                    if done["status"] == "completed":
                        break
                    await asyncio.sleep(0.5)
                assert done is not None and done["status"] == "completed", done
                done = await _until(ana, f"/api/v1/v2g/session/{sid}",
                                    lambda s: s["compensation"]["status"] == "paid")
                tx = station.transactions[1].transaction_id
                assert station.profiles.power_w(1, tx, station._now()) == 0  # cleared
        assert done["stopReason"] == "min_soc" and done["currentSoc"] <= 75
        assert done["startSoc"] == 80 and done["exportedWh"] > before["exportedWh"]
        samples = await _samples(fresh_pg_dsn, sid)
        registers = sorted(samples)
        assert done["exportedWh"] == registers[-1][1] - registers[0][1]  # baseline kept
        expected = compensate(split_by_hour(samples), prices, POLICY)
        assert done["compensation"]["netCentavos"] == expected.net_centavos > 0
    finally:
        server.kill()


async def _email_of(dsn: str, session_id: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval(
            "SELECT u.email FROM v2g_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.id = $1", uuid.UUID(session_id)))
    finally:
        await conn.close()
