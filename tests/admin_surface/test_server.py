"""Through a real `sigec serve` (one node, PostgreSQL, NATS): the node's operator wiring -
dashboard with its node, /metrics labelled by node, a Faulted connector alerting once, a
tariff stored, a deleted station disconnected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.admin_surface.conftest import WIPE
from tests.helpers.server import Api, ServerProcess, server_env

pytestmark = [pytest.mark.pg, pytest.mark.nats]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    asyncio.run(_wipe(pg_dsn))  # the package's database: other modules' rows go
    root: Path = tmp_path_factory.mktemp("operator")
    proc = ServerProcess(root / "data", server_env(
        root / "data", DATABASE_URL=pg_dsn, NATS_URL=nats_url,
        SIGEC_OPERATOR__RULES_INTERVAL_S="0.5", SIGEC_OPERATOR__NODE_REPORT_S="0.5"),
        root / "server.log")
    proc.start()
    yield proc
    assert proc.stop() == 0, proc.log()


async def _wipe(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(WIPE)
    finally:
        await conn.close()


async def test_operator_surface_on_a_real_node(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station("CP-OPS-1")
        station = await SimulatedStation.connect(server.ocpp, SimConfig("CP-OPS-1"),
                                                 password=password)
        try:
            assert (await station.boot()).status == "Accepted"
            await station.status(1, 1, "Faulted")
            board = await api.until("/api/v1/admin/dashboard", lambda b: (
                b["stations"]["faulted"] == 1 and [n["stations"] for n in b["nodes"]] == [1]))
            assert board["stations"]["online"] == 1 and board["connectors"]["faulted"] == 1
            alerts = await api.until("/api/v1/admin/alerts?kind=connector_faulted",
                                  lambda b: b["total"] >= 1)
            await asyncio.sleep(1.2)  # two more sweeps: still one alert
            again = await api.until("/api/v1/admin/alerts?kind=connector_faulted",
                                 lambda b: True)
            assert again["total"] == alerts["total"] == 1
            status, _ = await api.call("DELETE", "/api/v1/admin/stations/CP-OPS-1")
            assert status == 204
            await asyncio.wait_for(station.closed(), 10)
        finally:
            await station.close()
        async with http.get(server.http + "/metrics") as resp:
            text = await resp.text()
        assert 'sigec_node_up{node="' in text and "sigec_connected_stations{node=" in text
        status, made = await api.call("POST", "/api/v1/admin/tariffs", {
            "name": "Rede", "scope": "network", "pricePerKwhCentavos": 99})
        assert status == 201, made
