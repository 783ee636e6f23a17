"""Operator restarts and stops of actors (issue #14 items 5 and 6), against the real server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import nats
import pytest
from websockets.exceptions import InvalidStatus

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

CLOSE_WITHIN_S = 10.0  # "a few seconds": generous on a loaded 2-core CI machine


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url), tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    yield proc
    proc.kill()


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        client = Api(server.http, http)
        await client.login()
        yield client


async def _station(server: ServerProcess, api: Api, prefix: str) -> tuple[str, str]:
    station_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return station_id, await api.add_station(station_id)


async def _served(server: ServerProcess, api: Api, station_id: str,
                  password: str) -> SimulatedStation:
    """Connect, boot and take an operator command: the station is fully served."""
    station = await SimulatedStation.connect(server.ocpp, SimConfig(station_id),
                                             password=password)
    boot = await station.boot()
    assert boot.status == "Accepted"
    await station.heartbeat()
    status, answer = await api.call("POST", f"/api/v1/devices/{station_id}/trigger/Heartbeat", {})
    assert status == 200, answer
    return station


async def _online(api: Api, station_id: str) -> bool:
    status, device = await api.call("GET", f"/api/v1/devices/{station_id}")
    assert status == 200, device
    return bool(device["online"])


async def _eventually_offline(api: Api, station_id: str) -> None:
    for _ in range(100):
        if not await _online(api, station_id):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{station_id} still online")


async def _act(api: Api, action: str, path: str) -> None:
    status, body = await api.call("POST", f"/api/v1/admin/actors/{action}", {"path": path})
    assert status in (200, 204), body


async def _closed_by_server(station: SimulatedStation) -> int | None:
    async with asyncio.timeout(CLOSE_WITHIN_S):
        await station.closed()
    return station.ws.close_code


async def test_new_stations_are_served_after_the_node_supervisor_restarts(
        server: ServerProcess, api: Api) -> None:
    before_id, before_password = await _station(server, api, "CP-BEFORE")
    before = await _served(server, api, before_id, before_password)
    await _act(api, "restart", "/node-1")

    # the stations of the old tree lost their actors: their sockets close, they show offline
    assert await _closed_by_server(before) == 1012
    await before.close()
    await _eventually_offline(api, before_id)

    stations = [await _station(server, api, "CP-AFTER") for _ in range(10)]
    served = await asyncio.gather(*(_served(server, api, sid, pw) for sid, pw in stations))
    try:
        assert [await _online(api, sid) for sid, _ in stations] == [True] * 10
        again = await _served(server, api, before_id, before_password)  # it reconnects
        await again.close()
    finally:
        await asyncio.gather(*(station.close() for station in served))
    assert server.stop() == 0, server.log()


async def test_stopped_charge_points_supervisor_refuses_new_stations_clearly(
        server: ServerProcess, api: Api) -> None:
    connected_id, connected_password = await _station(server, api, "CP-ON")
    connected = await _served(server, api, connected_id, connected_password)
    await _act(api, "stop", "/node-1/charge-points")

    assert await _closed_by_server(connected) == 1012
    await connected.close()
    await _eventually_offline(api, connected_id)

    new_id, new_password = await _station(server, api, "CP-NEW")
    for station_id, password in ((new_id, new_password), (connected_id, connected_password)):
        with pytest.raises(InvalidStatus) as refused:
            await SimulatedStation.connect(server.ocpp, SimConfig(station_id), password=password)
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"]

    # restarting the node supervisor brings the charge-points supervisor back
    await _act(api, "restart", "/node-1")
    station = await _served(server, api, new_id, new_password)
    await station.close()
    assert server.stop() == 0, server.log()


async def test_stopped_charge_point_actor_closes_its_socket(
        server: ServerProcess, api: Api, nats_url: str) -> None:
    station_id, password = await _station(server, api, "CP-STOP")
    other_id, other_password = await _station(server, api, "CP-OTHER")
    station = await _served(server, api, station_id, password)
    other = await _served(server, api, other_id, other_password)
    nc = await nats.connect(nats_url)
    try:
        gone = await nc.subscribe("ocpp.device.disconnected")
        await nc.flush()
        await _act(api, "stop", f"/node-1/charge-points/{station_id}")

        assert await _closed_by_server(station) == 1012
        await station.close()
        assert not await _online(api, station_id)  # marked offline before the close
        async with asyncio.timeout(CLOSE_WITHIN_S):
            while station_id.encode() not in (await gone.next_msg(timeout=CLOSE_WITHIN_S)).data:
                pass
        status, _ = await api.call("POST", f"/api/v1/devices/{station_id}/reset",
                                   {"type": "Immediate"})
        assert status == 409  # not connected any more (not a zombie that is "busy")

        again = await _served(server, api, station_id, password)  # a fresh actor serves it
        assert await _online(api, station_id)
        await again.close()
        await other.heartbeat()  # the other station never noticed
        assert await _online(api, other_id)
    finally:
        await other.close()
        await nc.close()
    assert server.stop() == 0, server.log()


async def test_restarted_charge_point_actor_keeps_its_socket(
        server: ServerProcess, api: Api) -> None:
    station_id, password = await _station(server, api, "CP-RESTART")
    station = await _served(server, api, station_id, password)
    try:
        await _act(api, "restart", f"/node-1/charge-points/{station_id}")
        await station.heartbeat()
        status, answer = await api.call("POST", f"/api/v1/devices/{station_id}/trigger/Heartbeat",
                                        {})
        assert status == 200, answer
        assert station.ws.close_code is None and await _online(api, station_id)
    finally:
        await station.close()
    assert server.stop() == 0, server.log()
