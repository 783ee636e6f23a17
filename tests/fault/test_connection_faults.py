"""Connection faults on a real node: a reconnect storm after a restart while connected stations
keep being served, and a dead peer behind a blackholed socket dropped by the keepalive."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from websockets.asyncio.client import connect

from tests.fault.conftest import MakeProxy, fault_server, report
from tests.fault.stations import HeartbeatStation, eventually, p99
from tests.helpers.server import Api, ServerProcess

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
STEADY = 10


async def _register(dsn: str, ids: list[str]) -> None:
    """Profile-0 stations straight into the tables (no password to hash)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany("INSERT INTO charge_points (id) VALUES ($1)", [(i,) for i in ids])
        await conn.executemany("INSERT INTO station_credentials (charge_point_id,"
                               " security_profile) VALUES ($1, 0)", [(i,) for i in ids])
    finally:
        await conn.close()


def _port(server: ServerProcess) -> int:
    return int(server.ocpp.rsplit(":", 1)[1].split("/", 1)[0])


async def _offline(admin: Api, station_id: str) -> bool:
    status, device = await admin.call("GET", f"/api/v1/devices/{station_id}")
    return status == 200 and device["online"] is False


async def _connect_all(stations: list[HeartbeatStation], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    gate = asyncio.Semaphore(200)  # the client side of the storm is bounded, not the server

    async def one(s: HeartbeatStation) -> None:
        async with gate:
            await s.connect(deadline)

    await asyncio.gather(*(one(s) for s in stations))


async def _keep_beating(steady: list[HeartbeatStation], done: asyncio.Event) -> list[float]:
    """Heartbeats from the steady stations until the storm is over; every one must be answered."""
    worst: list[float] = []
    while not done.is_set():
        started = time.monotonic()
        await asyncio.gather(*(s.heartbeat() for s in steady))
        worst.append(time.monotonic() - started)
        await asyncio.sleep(0.2)
    return worst


@pytest.mark.parametrize("storm", [
    pytest.param(300, id="ci"),
    pytest.param(5000, id="soak", marks=[pytest.mark.soak, pytest.mark.timeout(900)]),
])
async def test_reconnect_storm_after_restart_keeps_serving_connected_stations(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str, storm: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * storm + 1024)), hard))
    server = fault_server(tmp_path, fresh_pg_dsn, nats_url)
    await asyncio.to_thread(server.start)
    ids = [f"CP-STORM-{i}" for i in range(STEADY + storm)]
    try:
        await _register(fresh_pg_dsn, ids)
        stations = [HeartbeatStation(i, "127.0.0.1", _port(server)) for i in ids]
        steady, rest = stations[:STEADY], stations[STEADY:]
        await _connect_all(stations, 120)
        server.stop()
        await asyncio.to_thread(server.start)
        for s in stations:
            s.close()
            s.connect_attempts = 0
        await _connect_all(steady, 30)
        done = asyncio.Event()
        beats = asyncio.create_task(_keep_beating(steady, done))
        started = time.monotonic()
        try:
            await _connect_all(rest, 300)
        finally:
            done.set()
        storm_s = time.monotonic() - started
        rounds = await beats
        await asyncio.gather(*(s.heartbeat() for s in stations))
        assert server.proc is not None and server.proc.poll() is None
    finally:
        for s in stations:
            s.close()
        server.kill()
    report("reconnect-storm", stations=storm, steady=STEADY, storm_s=round(storm_s, 2),
           heartbeat_rounds_during_storm=len(rounds),
           worst_round_s=round(max(rounds, default=0.0), 3),
           reconnect_attempts=sum(s.connect_attempts for s in rest),
           # goal R12 (profile 0 here: no Basic-auth verify in the handshake)
           handshake_p99_s=round(p99([s.handshake_s for s in rest]), 3),
           handshake_max_s=round(max(s.handshake_s for s in rest), 3),
           reconnected_p99_s=round(p99([s.connected_s for s in rest]), 3))
    assert all(s.answered >= 2 for s in stations)  # boot + the last heartbeat at least


async def test_dead_peer_behind_a_blackhole_is_dropped_by_the_keepalive(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str, make_proxy: MakeProxy) -> None:
    interval, timeout = 1.0, 1.0
    server = fault_server(tmp_path, fresh_pg_dsn, nats_url,
                          SIGEC_OCPP__PING_INTERVAL_S=str(interval),
                          SIGEC_OCPP__PING_TIMEOUT_S=str(timeout))
    await asyncio.to_thread(server.start)
    try:
        await _register(fresh_pg_dsn, ["CP-DEAD"])
        proxy = await make_proxy(server.ocpp)
        url = f"ws://127.0.0.1:{proxy.port}/ocpp/CP-DEAD"
        ws = await connect(url, subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                           ping_interval=None)  # the station itself never notices
        await ws.send(json.dumps([2, "b", "BootNotification", {
            "reason": "PowerUp", "chargingStation": {"model": "Dead", "vendorName": "T"}}]))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))[0] == 3
        (link,) = proxy.links
        proxy.set_mode("blackhole")
        holed = time.monotonic()
        bound = interval + timeout + 5
        while link.target_closed_at is None and time.monotonic() < holed + bound + 2:
            await asyncio.sleep(0.05)
        assert link.target_closed_at is not None, "the server kept the dead peer"
        dropped_s = link.target_closed_at - holed
        assert dropped_s <= bound + 2, dropped_s  # the bound plus scheduling slack
        async with aiohttp.ClientSession() as http:  # and the operator sees it offline (R13)
            admin = Api(server.http, http)
            await admin.login()
            await eventually(lambda: _offline(admin, "CP-DEAD"), timeout_s=10)
        proxy.set_mode("pass")
        ws.transport.abort()
        async with connect(url, subprotocols=["ocpp2.0.1"]) as again:  # type: ignore[list-item]
            await again.send(json.dumps([2, "h", "Heartbeat", {}]))
            assert json.loads(await asyncio.wait_for(again.recv(), 10))[0] == 3
    finally:
        server.kill()
    report("dead-peer", ping_interval_s=interval, ping_timeout_s=timeout,
           dropped_after_s=round(dropped_s, 2), bound_s=bound)
