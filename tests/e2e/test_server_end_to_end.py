"""The whole server as a user runs it: REST registers a station, a simulated station connects
over OCPP, operators command it over REST, the actor tree shows it, events reach NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import nats
import nats.aio.subscription
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_OCPP__CALL_TIMEOUT_S="3"), tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    yield proc
    proc.kill()


async def test_station_lifecycle_through_the_real_server(server: ServerProcess, nats_url: str) -> None:
    station_id = f"CP-E2E-{uuid.uuid4().hex[:6]}"
    nc = await nats.connect(nats_url)
    boots = await nc.subscribe("ocpp.device.boot")
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id)
        station = await SimulatedStation.connect(server.ocpp, SimConfig(station_id), password=password)
        try:
            boot = await station.boot()
            assert boot.status == "Accepted"
            await station.status(1, 1, "Available")

            status, device = await api.call("GET", f"/api/v1/devices/{station_id}")
            assert status == 200 and device["online"] is True
            assert device["connectors"][0]["status"] == "Available"

            # ten operators at once: every command answered, never two CALLs in flight
            results = await asyncio.gather(*(
                api.call("POST", f"/api/v1/devices/{station_id}/reset", {"type": "OnIdle"})
                for _ in range(10)))
            assert [r[0] for r in results] == [200] * 10
            assert {r[1]["status"] for r in results} == {"Accepted"}
            assert station.stats.max_in_flight == 1

            # the actor tree shows the station; an operator restart keeps its connection
            path = f"/node-1/charge-points/{station_id}"
            status, tree = await api.call("GET", "/api/v1/admin/actors")
            assert status == 200 and path in msgspec.json.encode(tree).decode()
            status, _ = await api.call("POST", "/api/v1/admin/actors/restart", {"path": path})
            assert status in (200, 204)
            status, answer = await api.call("POST", f"/api/v1/devices/{station_id}/trigger/Heartbeat", {})
            assert status == 200, answer
            assert station.ws.state.name == "OPEN"

            # its recent messages, kept across the restart: the command and the Heartbeat
            status, detail = await api.call(
                "GET", f"/api/v1/admin/actors/detail?path={path}")
            assert status == 200 and detail["restarts"] == 1, detail
            kinds = [m["kind"] for m in detail["recent"]]
            assert len(kinds) == 8 and {"SendCommand", "StationCall", "StationResult"} <= set(kinds)
            assert any('"action":"Heartbeat"' in m["summary"] for m in detail["recent"])

            # the node's metrics count this traffic
            async with http.get(f"{server.http}/metrics") as resp:
                text = await resp.text()
            samples = _samples(text)  # each node's samples carry a `node` label
            assert samples[("sigec_connected_stations", ())] == 1.0
            assert samples[("sigec_ocpp_messages_total",
                            (("action", "BootNotification"), ("direction", "in")))] == 1.0
            assert samples[("sigec_ocpp_messages_total",
                            (("action", "Reset"), ("direction", "out")))] == 10.0
            assert samples[("sigec_ocpp_call_latency_seconds_count",
                            (("action", "Reset"),))] == 10.0
            assert ("sigec_actor_restarts", (("kind", "ChargePoint"),)) in samples

            # the boot event went through the outbox to NATS (other servers may share it)
            await _wait_for_event(boots, station_id)
        finally:
            await station.close()
        await _eventually_offline(api, station_id)
        status, problem = await api.call("POST", f"/api/v1/devices/{station_id}/reset", {"type": "Immediate"})
        assert status == 409 and problem["status"] == 409
    await nc.close()
    assert server.stop() == 0


async def _wait_for_event(sub: nats.aio.subscription.Subscription, station_id: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        msg = await sub.next_msg(timeout=max(0.1, deadline - loop.time()))
        if msg.data and msg.data.decode().find(f'"{station_id}"') >= 0:
            return
    raise AssertionError(f"no ocpp.device.boot event for {station_id}")


async def _eventually_offline(api: Api, station_id: str) -> None:
    for _ in range(50):
        status, device = await api.call("GET", f"/api/v1/devices/{station_id}")
        if status == 200 and device["online"] is False:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("station still online after disconnect")


async def test_unknown_station_is_refused_before_upgrade(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        ws_url = server.ocpp.replace("ws://", "http://") + "/CP-NOBODY"
        async with http.get(ws_url, headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "ocpp2.0.1",
        }) as resp:
            assert resp.status == 404


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus samples by name and labels (the `node` label left out), summed over nodes."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "node"))
            key = (sample.name, labels)
            out[key] = out.get(key, 0.0) + sample.value
    return out
