"""The real server with a certificate: wss:// on server.ocpp_tls_port for profile 2, while a
profile-2 station is refused on plain ws:// (OCPP security profiles, Part 2 section A)."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import uuid

import aiohttp
import pytest
import websockets

from tests.helpers.pki import Pki
from tests.helpers.server import Api, ServerProcess


async def test_profile_2_station_over_wss_only(
        tls_server: tuple[ServerProcess, Pki, int]) -> None:
    server, pki, tls_port = tls_server
    station_id = f"CP-TLS-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id, 2)
    auth = "Basic " + base64.b64encode(f"{station_id}:{password}".encode()).decode()
    headers = {"Authorization": auth}
    context = ssl.create_default_context(cafile=str(pki.ca))
    async with websockets.connect(
            f"wss://127.0.0.1:{tls_port}/ocpp/{station_id}", ssl=context,
            subprotocols=["ocpp2.0.1"], additional_headers=headers) as ws:  # type: ignore[list-item]
        assert ws.transport.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
        await ws.send(json.dumps([2, "b1", "BootNotification", {
            "reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}]))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply[0] == 3 and reply[2]["status"] == "Accepted"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{server.ocpp}/{station_id}",
                                      subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                                      additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
