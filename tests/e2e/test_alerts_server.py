"""Operator alerts through the real server: a simulated station's critical SecurityEvent and a
profile-2 session taken over from another address show up in GET /api/v1/admin/alerts."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import uuid
from datetime import UTC, datetime

import aiohttp
import nats
import websockets
from ocpp.v201 import call

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.pki import Pki
from tests.helpers.server import Api, ServerProcess

ALERTS = "/api/v1/admin/alerts"



async def _alerts(api: Api, query: str, want: int) -> list[dict[str, object]]:
    """The alerts `query` lists once there are `want` of them (writes finish after replies)."""
    for _ in range(50):
        status, page = await api.call("GET", f"{ALERTS}?{query}")
        assert status == 200, page
        if page["total"] >= want:
            assert page["total"] == want, page
            return list(page["items"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ALERTS}?{query}: {page}")


async def _security_event(station: SimulatedStation, kind: str) -> None:
    await station.call(call.SecurityEventNotification(
        type=kind, timestamp=datetime.now(UTC).isoformat(), tech_info="e2e"), suppress=False)


async def test_critical_security_event_reaches_the_operator(
        tls_server: tuple[ServerProcess, Pki, int], nats_url: str) -> None:
    server, _, _ = tls_server
    station_id = f"CP-AL-{uuid.uuid4().hex[:6]}"
    nc = await nats.connect(nats_url)
    opened = await nc.subscribe("alert.opened")
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id, 1)
        async with await SimulatedStation.connect(server.ocpp, SimConfig(station_id),
                                                  password=password) as station:
            assert (await station.boot()).status == "Accepted"
            for _ in range(2):  # the same type again: still one open alert
                await _security_event(station, "TamperDetectionActivated")
            await _security_event(station, "InvalidMessages")  # not critical: no alert
            [alert] = await _alerts(api, f"chargePointId={station_id}", 1)
        assert alert["kind"] == "security_event" and alert["severity"] == "critical"
        assert alert["status"] == "open"
        assert alert["details"]["type"] == "TamperDetectionActivated"  # type: ignore[index]

        url = f"{ALERTS}/{alert['id']}"
        status, acked = await api.call("POST", url + "/acknowledge")
        assert status == 200 and acked["status"] == "acknowledged", acked
        status, done = await api.call("POST", url + "/resolve")
        assert status == 200 and done["status"] == "resolved", done
        status, problem = await api.call("POST", url + "/resolve")
        assert status == 409 and problem["status"] == 409
        status, page = await api.call("GET", f"{ALERTS}?status=resolved&chargePointId={station_id}")
        assert status == 200 and [i["id"] for i in page["items"]] == [alert["id"]]

    msg = await opened.next_msg(timeout=10)  # the outbox relayed alert.opened to JetStream
    while json.loads(msg.data)["chargePointId"] != station_id:
        msg = await opened.next_msg(timeout=10)
    assert json.loads(msg.data)["alertId"] == alert["id"]
    await nc.close()


async def _connect_from(source: str, tls_port: int, station_id: str, password: str,
                        pki: Pki) -> websockets.ClientConnection:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    return await websockets.connect(
        f"wss://127.0.0.1:{tls_port}/ocpp/{station_id}",
        ssl=ssl.create_default_context(cafile=str(pki.ca)),
        subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {token}"}, local_addr=(source, 0))


async def test_profile_2_session_taken_over_from_a_new_address_alerts(
        tls_server: tuple[ServerProcess, Pki, int]) -> None:
    server, pki, tls_port = tls_server
    station_id = f"CP-IP-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id, 2)
        first = await _connect_from("127.0.0.1", tls_port, station_id, password, pki)
        second = await _connect_from("127.0.0.2", tls_port, station_id, password, pki)
        await second.send(json.dumps([2, "h1", "Heartbeat", {}]))  # the new session works
        assert json.loads(await asyncio.wait_for(second.recv(), 10))[1] == "h1"
        await asyncio.wait_for(first.wait_closed(), 10)
        [alert] = await _alerts(api, f"kind=session_new_ip&chargePointId={station_id}", 1)
        assert alert["severity"] == "warning"
        assert alert["details"] == {"oldIp": "127.0.0.1", "newIp": "127.0.0.2",
                                    "securityProfile": 2}
        await second.close()
