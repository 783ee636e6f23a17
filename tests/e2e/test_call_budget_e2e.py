"""S8 through the real server: a station flooding CALLs gets GenericError, keeps its socket,
and is served again once its budget refills (ocpp.station_calls_per_s / station_call_burst)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic

from tests.helpers.server import Api, ServerProcess, server_env

BOOT = {"chargingStation": {"vendorName": "ACME", "model": "X1"}, "reason": "PowerUp"}


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_OCPP__STATION_CALLS_PER_S="2", SIGEC_OCPP__STATION_CALL_BURST="5"),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    yield proc
    proc.kill()


async def test_a_flood_is_refused_and_the_station_is_served_again(server: ServerProcess) -> None:
    station_id = f"CP-S8-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id)
    auth = {"Authorization": build_authorization_basic(station_id, password)}
    async with connect(f"{server.ocpp}/{station_id}", subprotocols=["ocpp2.0.1"],
                       additional_headers=auth) as ws:

        async def call(n: int, action: str, payload: dict[str, object]) -> list[object]:
            await ws.send(json.dumps([2, f"m{n}", action, payload]))
            answer = json.loads(await ws.recv())
            assert answer[1] == f"m{n}"
            return answer

        assert (await call(0, "BootNotification", BOOT))[0] == 3
        answers = [await call(n, "Heartbeat", {}) for n in range(1, 21)]
        kinds = [a[0] for a in answers]
        assert kinds[:4] == [3, 3, 3, 3]  # the burst of 5, the Boot included
        refused = [a for a in answers if a[0] == 4]
        assert len(refused) >= 14
        assert {(a[2], a[3]) for a in refused} == {
            ("GenericError", "rate limited: more than 2 CALLs/s (burst 5)")}
        await asyncio.sleep(0.6)  # one token back at 2/s
        assert (await call(99, "Heartbeat", {}))[0] == 3
