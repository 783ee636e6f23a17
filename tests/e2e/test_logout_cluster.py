"""`sigec serve` with 2 workers and no Redis: a logged-out access token is refused by every node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.helpers.server import Api, ServerProcess, alive, free_port, server_env

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


@pytest.fixture
async def two_workers(tmp_path: Path, fresh_pg_dsn: str,
                      nats_url: str) -> AsyncIterator[ServerProcess]:
    """The default path: two node processes sharing the ports, REDIS_URL unset."""
    data = tmp_path / "data"
    server = ServerProcess(data, server_env(
        data, DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url, SIGEC_WORKERS="2",
        SIGEC_CLUSTER__ADMIN_PORT=str(free_port())), tmp_path / "server.log")
    nodes: list[psutil.Process] = []
    try:
        await asyncio.to_thread(server.start, 60)
        nodes = [psutil.Process(node["pid"]) for node in server.runtime["nodes"]]
        yield server
        assert await asyncio.to_thread(server.stop) == 0, server.log()
    finally:
        server.kill()
        for node in nodes:  # only if the server did not stop them (the test then failed)
            if alive(node):
                node.kill()


async def test_a_logged_out_token_is_refused_on_both_nodes(two_workers: ServerProcess) -> None:
    assert len({node["pid"] for node in two_workers.runtime["nodes"]}) == 2
    # A new connection per request: SO_REUSEPORT spreads them over both node processes.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        api = Api(two_workers.http, session)
        await api.login()
        assert (await api.call("GET", "/api/v1/users/me"))[0] == 200
        assert (await api.call("POST", "/api/v1/auth/logout"))[0] == 204
        statuses = [(await api.call("GET", "/api/v1/users/me"))[0] for _ in range(20)]
    assert statuses == [401] * 20
