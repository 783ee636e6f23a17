"""Fault-suite fixtures: proxies before PostgreSQL and NATS, the real server behind them; the
`soak` marker (long versions, run by `make soak` with SIGEC_SOAK=1, deselected otherwise)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from tests.e2e.test_crash_transactions import _seed
from tests.fault.proxy import FaultProxy
from tests.helpers.server import Api, ServerProcess, free_port, server_env

SOAK = os.environ.get("SIGEC_SOAK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long fault-suite version (make soak, SIGEC_SOAK=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the short versions only; SIGEC_SOAK=1 runs the long ones too."""
    if SOAK:
        return
    long = [item for item in items if item.get_closest_marker("soak")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]


def via(url: str, port: int) -> str:
    """`url` with its host:port replaced by 127.0.0.1:`port` (credentials kept)."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


MakeProxy = Callable[[str], Awaitable[FaultProxy]]


@pytest.fixture
async def make_proxy() -> AsyncIterator[MakeProxy]:
    """make_proxy(url) -> a FaultProxy before that URL's host:port; all stopped at teardown."""
    proxies: list[FaultProxy] = []

    async def make(url: str) -> FaultProxy:
        parts = urlsplit(url)
        assert parts.hostname in ("127.0.0.1", "localhost"), "faults are injected on loopback only"
        proxy = FaultProxy("127.0.0.1", parts.port or 5432)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        await proxy.stop()


@dataclass
class Node:
    """The server under test (inline node, SIGEC_WORKERS=0) and what it is pointed at."""

    server: ServerProcess
    dsn: str
    nats_url: str
    ids: list[str]

    async def ready(self) -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    self.server.http + "/health/ready",
                    timeout=aiohttp.ClientTimeout(total=5)) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


def fault_server(tmp_path: Path, db_url: str, nats_url: str, **extra: str) -> ServerProcess:
    """A `sigec serve` (fixed ports, so a restart keeps them) pointed at the given URLs."""
    data = tmp_path / "data"
    env = server_env(data, DATABASE_URL=db_url, NATS_URL=nats_url,
                     SIGEC_HTTP_PORT=str(free_port()), SIGEC_OCPP_PORT=str(free_port()),
                     SIGEC_BILLING__SETTLE_INTERVAL_S="1", SIGEC_OCPP__STATION_CALLS_PER_S="0",
                     **extra)
    return ServerProcess(data, env, tmp_path / "server.log")


async def start_node(tmp_path: Path, dsn: str, nats_url: str, *, db_url: str | None = None,
                     bus_url: str | None = None, stations: int = 4, **extra: str) -> Node:
    """Start the server (on the proxies' URLs when given) and seed `stations` stations with a
    user and an id token each."""
    server = fault_server(tmp_path, db_url or dsn, bus_url or nats_url, **extra)
    await asyncio.to_thread(server.start)
    ids = [f"CP-FAULT-{i}" for i in range(stations)]
    async with aiohttp.ClientSession() as http:
        await _seed(Api(server.http, http), ids)
    return Node(server, dsn, nats_url, ids)


def report(name: str, **facts: object) -> None:
    """Print what a scenario injected and saw (pytest -s, or the captured output on failure)."""
    print(f"FAULT {name}: {json.dumps(facts, default=str)}")
