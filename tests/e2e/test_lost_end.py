"""Issue #14 items 11 and 12 through the real server: a station loses a running session (its
Ended never comes), the app's second start is refused (ConcurrentTx) without asking the station;
the station reboots, the server asks it (GetTransactionStatus), closes the session as incomplete,
opens an operator alert, and the user can start again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

START = "/api/v1/transactions/start"


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url), tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    yield proc
    assert proc.stop() == 0, proc.log()


async def _eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """The first truthy answer of `probe` (the server works after it answers the station)."""
    for _ in range(100):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_a_lost_ended_is_closed_at_reboot_and_the_user_charges_again(
        server: ServerProcess) -> None:
    station_id = f"CP-LOST-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        bia = Api(server.http, http)
        await bia.call("POST", "/api/v1/auth/register", {
            "name": "Bia", "email": "bia@example.com", "password": "bia's passphrase"})
        await bia.login("bia@example.com", "bia's passphrase")

        async def active() -> list[dict[str, Any]]:
            status, items = await bia.call("GET", "/api/v1/transactions/active")
            return items if status == 200 else []

        config = SimConfig(station_id)
        async with await SimulatedStation.connect(server.ocpp, config,
                                                  password=password) as station:
            assert (await station.boot()).status == "Accepted"
            status, started = await bia.call("POST", START, {"chargePointId": station_id})
            assert status == 200 and started["accepted"] is True, started
            (session,) = await _eventually(active, "the remote start's Started")
            station.transactions.clear()  # power cut: the session and its Ended are gone
            status, busy = await bia.call("POST", START, {"chargePointId": station_id})
            assert status == 409 and busy["reason"] == "ConcurrentTx", busy
            assert station.stats.commands["RequestStartTransaction"] == 1  # not asked again

        async with await SimulatedStation.connect(server.ocpp, config,
                                                  password=password) as station:
            assert (await station.boot()).status == "Accepted"  # the server asks about it now

            async def closed() -> dict[str, Any] | None:
                status, one = await bia.call("GET", f"/api/v1/transactions/{session['id']}")
                return one if status == 200 and one["status"] == "Ended" else None

            done = await _eventually(closed, "the orphaned session closed")
            assert done["incomplete"] is True and done["endedAt"]
            assert station.stats.commands["GetTransactionStatus"] == 1

            async def alerted() -> list[dict[str, Any]]:
                status, page = await admin.call(
                    "GET", f"/api/v1/admin/alerts?kind=transaction_end_lost"
                    f"&chargePointId={station_id}")
                return page["items"] if status == 200 else []

            (alert,) = await _eventually(alerted, "the operator alert")
            assert alert["details"]["transactionId"] == session["stationTransactionId"]
            status, again = await bia.call("POST", START, {"chargePointId": station_id})
            assert status == 200 and again["accepted"] is True, again
