"""The simulator's V2G mode through the real server: REST SetChargingProfile / ClearChargingProfile
drive its battery, and the meter values it reports are the ones stored for the transaction."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from sigec_actors.simulator import SimConfig, SimulatedStation
from sigec_actors.simulator.v2g import V2GOptions
from tests.helpers.server import Api, ServerProcess, server_env

SCALE = 60.0  # one simulated minute per wall second
INTERVAL_S = 60.0  # a meter value per simulated minute: one per wall second


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url), tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    assert proc.stop() == 0, proc.log()


def discharge(transaction_id: str, limit_w: float, profile_id: int = 9001) -> dict[str, Any]:
    """The OCPP 2.0.1 vendor-style discharge profile (negative limit) of the domain notes."""
    return {"evseId": 1, "chargingProfile": {
        "id": profile_id, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative", "transactionId": transaction_id,
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "duration": 86400,
                              "chargingSchedulePeriod": [
                                  {"startPeriod": 0, "limit": limit_w, "numberPhases": 3}]}]}}


async def _setup(server: ServerProcess, http: aiohttp.ClientSession) -> tuple[Api, str, str]:
    """An operator, a station with its password, and a user whose card is RFID-V2G."""
    station_id = f"CP-V2G-{uuid.uuid4().hex[:6]}"
    admin = Api(server.http, http)
    await admin.login()
    password = await admin.add_station(station_id)
    ana = Api(server.http, http)
    status, _ = await ana.call("POST", "/api/v1/auth/register", {
        "name": "Ana", "email": "ana@example.com", "password": "a long passphrase"})
    assert status == 201
    await ana.login("ana@example.com", "a long passphrase")
    status, token = await ana.call("POST", "/api/v1/users/me/id-tokens",
                                   {"idToken": "RFID-V2G", "type": "ISO14443"})
    assert status == 201, token
    return admin, station_id, password


Rows = list[tuple[str, Decimal, Any]]


async def _meter(dsn: str, transaction_id: str) -> Rows:
    """(measurand, value, sampled_at) stored for the station's transaction, in time order."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT mv.measurand, mv.value, mv.sampled_at FROM meter_values mv "
            "JOIN transactions t ON t.id = mv.transaction_id "
            "WHERE t.station_transaction_id = $1 ORDER BY mv.sampled_at, mv.id", transaction_id)
    finally:
        await conn.close()
    return [(r["measurand"], r["value"], r["sampled_at"]) for r in rows]


async def _until(dsn: str, transaction_id: str, check: Any, timeout_s: float = 20) -> Rows:
    for _ in range(int(timeout_s / 0.2)):
        rows = await _meter(dsn, transaction_id)
        if check(rows):
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met: {rows[-6:]}")


def _series(rows: Rows, measurand: str) -> list[tuple[Any, Decimal]]:
    return [(at, value) for m, value, at in rows if m == measurand]


def _exported_while(rows: Rows, power_w: int) -> list[tuple[Any, Decimal]]:
    """Export register readings taken while Power.Active.Export read `power_w`."""
    power = dict(_series(rows, "Power.Active.Export"))
    return [(at, wh) for at, wh in _series(rows, "Energy.Active.Export.Register")
            if power.get(at) == power_w]


async def test_discharge_charge_and_clear_through_the_server(server: ServerProcess) -> None:
    dsn = server.dsn  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        admin, station_id, password = await _setup(server, http)
        config = SimConfig(station_id, v2g=V2GOptions(
            soc=80, battery_wh=60_000, meter_interval_s=INTERVAL_S, time_scale=SCALE))
        devices = f"/api/v1/devices/{station_id}/charging-profile"
        async with await SimulatedStation.connect(server.ocpp, config,
                                                  password=password) as sim:
            assert (await sim.boot()).status == "Accepted"
            tx = await sim.start_transaction("RFID-V2G")
            tid = tx.transaction_id
            # a TxProfile for another transaction is refused by the station
            status, body = await admin.call("POST", devices, discharge("not-running", -7000.0))
            assert (status, body["status"]) == (200, "Rejected"), body
            status, body = await admin.call("POST", devices, discharge(tid, -7000.0))
            assert (status, body["status"]) == (200, "Accepted"), body
            rows = await _until(dsn, tid, lambda r: len(_exported_while(r, 7000)) >= 4)
            status, body = await admin.call("DELETE", f"{devices}?chargingProfileId=9001")
            assert (status, body["status"]) == (200, "Accepted"), body
            status, body = await admin.call("DELETE", f"{devices}?chargingProfileId=9001")
            assert (status, body["status"]) == (200, "Unknown"), body
            cleared_at = (await _until(dsn, tid, lambda r: _series(
                r, "Power.Active.Export")[-1][1] == 0))[-1][2]
            status, body = await admin.call("POST", devices, discharge(tid, 11000.0, 9002))
            assert body["status"] == "Accepted", body
            await _until(dsn, tid, lambda r: _series(
                r, "Energy.Active.Import.Register")[-1][1] >= 150)  # 11 kW: 183 Wh a minute
            await sim.end_transaction()
        rows = await _meter(dsn, tid)

    export = _series(rows, "Energy.Active.Export.Register")
    soc = [v for _, v in _series(rows, "SoC")]
    assert soc[0] == 80 and min(soc) < 80 and soc[-1] > min(soc)  # discharged, then charged
    assert all(b >= a for (_, a), (_, b) in pairwise(export))
    # the register grew at 7 kW of simulated time between readings taken while exporting
    discharging = _exported_while(rows, 7000)
    for (t0, wh0), (t1, wh1) in pairwise(discharging):
        expected = 7000 * (t1 - t0).total_seconds() / 3600
        assert abs(float(wh1 - wh0) - expected) <= 2, (t0, t1, wh0, wh1)
    after = [wh for at, wh in export if at > cleared_at]
    assert len(set(after)) == 1  # nothing exported once the profile was cleared
    imported = _series(rows, "Energy.Active.Import.Register")
    assert imported[0][1] == 0 and imported[-1][1] > 0
    assert float(soc[-1]) == pytest.approx(80 - float(export[-1][1]) / 600
                                    + float(imported[-1][1]) / 600, abs=0.2)


async def test_cli_v2g_flags_reject_profiles_and_end_on_sigterm(server: ServerProcess) -> None:
    dsn = server.dsn  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        admin, station_id, password = await _setup(server, http)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sigec_actors.simulator", "--url", server.ocpp,
            "--id", station_id, "--password", password, "--transaction", "RFID-V2G",
            "--v2g", "--soc", "55", "--battery-wh", "40000", "--meter-interval-s", "30",
            "--time-scale", "30", "--reject-profiles",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=dict(os.environ))
        try:
            assert proc.stdout is not None
            line = ""
            while "started" not in line:
                line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
                assert line, "the simulator exited"
            tid = line.split()[2]
            await _until(dsn, tid, lambda r: len(_series(r, "SoC")) >= 3)
            status, body = await admin.call("POST", f"/api/v1/devices/{station_id}/"
                                            "charging-profile", discharge(tid, -7000.0))
            assert (status, body["status"]) == (200, "Rejected"), body
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 15) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    rows = await _meter(dsn, tid)
    assert {v for _, v in _series(rows, "SoC")} == {55}
    assert {v for _, v in _series(rows, "Energy.Active.Export.Register")} == {0}
    conn = await asyncpg.connect(dsn)
    try:
        status = await conn.fetchval(
            "SELECT status FROM transactions WHERE station_transaction_id = $1", tid)
    finally:
        await conn.close()
    assert status in ("Ended", "ended")
