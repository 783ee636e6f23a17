"""One real server with the REST matrix's principals and a station with a session, shared by the
GraphQL and gRPC test modules (each module starts its own; every call goes over the wire)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

PASSPHRASE = "a long passphrase for tests"
PRINCIPALS = ("user", "other", "operator", "admin")


@dataclass
class World:
    server: ServerProcess
    http: aiohttp.ClientSession
    station_id: str
    station: SimulatedStation
    tx_id: str  # the session of "user" on the station
    tokens: dict[str, str] = field(default_factory=dict)  # principal -> access token
    apis: dict[str, Api] = field(default_factory=dict)

    async def second_token(self, who: str) -> str:
        """Another access token of `who` (from a new login), for tests that log it out."""
        api = Api(self.server.http, self.http)
        await api.login(self.apis[who].email, PASSPHRASE)  # type: ignore[attr-defined]
        return api.token

    async def logout(self, token: str) -> None:
        async with self.http.post(self.server.http + "/api/v1/auth/logout",
                                  headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 204, await resp.text()


def module_fixtures(name: str) -> tuple[Any, Any]:
    """The module-scoped `server` (one `sigec serve`) and `world` fixtures of a test module:
    `server, world = module_fixtures("graphql")`."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
               nats_url: str) -> Iterator[ServerProcess]:
        root: Path = tmp_path_factory.mktemp(name)
        proc = ServerProcess(root / "data", server_env(
            root / "data", DATABASE_URL=pg_dsn, NATS_URL=nats_url,
            SIGEC_SERVER__GRAPHQL_ENABLED="true", SIGEC_SERVER__GRPC_ENABLED="true"),
            root / "server.log")
        proc.start()
        yield proc
        assert proc.stop() == 0, proc.log()

    @pytest_asyncio.fixture(scope="module", loop_scope="module")
    async def world(server: ServerProcess, pg_dsn: str) -> AsyncIterator[World]:
        async with world_on(server, pg_dsn) as w:
            yield w

    return server, world


async def _person(server: ServerProcess, http: aiohttp.ClientSession, dsn: str, who: str,
                  tag: str) -> Api:
    api = Api(server.http, http)
    if who == "admin":
        await api.login()
        return api
    email = f"{who}-{tag}@example.com"
    status, body = await api.call("POST", "/api/v1/auth/register", {
        "name": who, "email": email, "password": PASSPHRASE})
    assert status == 201, body
    if who == "operator":  # roles are granted by an admin; the token carries the role
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("UPDATE users SET role = 'operator' WHERE email = $1", email)
        finally:
            await conn.close()
    await api.login(email, PASSPHRASE)
    api.email = email  # type: ignore[attr-defined]
    return api


@asynccontextmanager
async def world_on(server: ServerProcess, dsn: str) -> AsyncIterator[World]:
    """The principals, a booted station and a session of "user" on it."""
    tag = uuid.uuid4().hex[:6]
    station_id = f"CP-API-{tag}"
    async with aiohttp.ClientSession() as http:
        apis = {who: await _person(server, http, dsn, who, tag) for who in PRINCIPALS}
        password = await apis["admin"].add_station(station_id)
        status, body = await apis["user"].call("POST", "/api/v1/users/me/id-tokens",
                                               {"idToken": f"RFID-{tag}"})
        assert status == 201, body
        station = await SimulatedStation.connect(server.ocpp, SimConfig(station_id),
                                                 password=password)
        async with station:
            assert (await station.boot()).status == "Accepted"
            await station.status(1, 1, "Available")
            await station.start_transaction(f"RFID-{tag}")
            tx_id = await _active_session(apis["user"])
            yield World(server, http, station_id, station, tx_id,
                        {who: api.token for who, api in apis.items()}, apis)


async def _active_session(api: Api) -> str:
    for _ in range(100):
        status, active = await api.call("GET", "/api/v1/transactions/active")
        assert status == 200, active
        if active:
            return str(active[0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the station's session never reached the user's list")


def rest_status(world: World, method: str, path: str, who: str | None,
                body: Any = None) -> Any:
    """The status REST answers `who` (None: anonymous) for the same operation."""
    async def call() -> int:
        headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
        async with world.http.request(method, world.server.http + path, json=body,
                                      headers=headers) as resp:
            await resp.read()
            return resp.status
    return call()
