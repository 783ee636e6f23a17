"""Stations over two node processes: REST commands reach every station whichever node takes the
HTTP call; after SIGKILL of a node its stations reconnect and are commandable again."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import nats
import psutil
import pytest

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.cluster.routing import StationRouter
from sigec_actors.domain.records import Caller
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import ADMIN_EMAIL, ADMIN_PASSWORD, Api

from .conftest import Serve, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


class NoLocal:
    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        raise AssertionError("the probe holds no station")


@pytest.fixture
async def probe(nats_url: str) -> AsyncIterator[StationRouter]:
    """A router that holds nothing: `commander.locate` says which node holds a station."""
    nc = await nats.connect(nats_url)
    yield StationRouter(NatsEventBus(nc), "probe", NoLocal())
    await nc.close()


async def fresh_api(http_url: str) -> tuple[Api, aiohttp.ClientSession]:
    """An API client opening a new connection per request (SO_REUSEPORT picks the node)."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    api = Api(http_url, session)
    await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return api, session


async def connect(serve: Serve, station_id: str, password: str) -> SimulatedStation:
    ocpp = serve.runtime["ocppUrl"]
    station = await SimulatedStation.connect(ocpp, SimConfig(station_id), password=password)
    boot = await station.boot()
    assert boot.status == "Accepted"
    return station


async def reset_all(api: Api, stations: list[str], rounds: int = 2) -> None:
    calls = [api.call("POST", f"/api/v1/devices/{sid}/reset", {"type": "OnIdle"})
             for sid in stations for _ in range(rounds)]
    results = await asyncio.gather(*calls)
    assert [status for status, _ in results] == [200] * len(calls), results
    assert {body["status"] for _, body in results} == {"Accepted"}


async def tree_and_restart_across_nodes(api: Api, sims: dict[str, SimulatedStation],
                                        where: dict[str, str | None]) -> None:
    """Whichever node takes the call: the tree is the cluster's, and an operator restart of a
    station actor on either node works and keeps the station's socket."""
    for _ in range(4):  # fresh connections: SO_REUSEPORT spreads them over both nodes
        status, tree = await api.call("GET", "/api/v1/admin/actors")
        assert status == 200 and tree["path"] == "/director", tree
        assert {c["path"] for c in tree["children"]} == {"/director/node-1", "/director/node-2"}
        text = msgspec.json.encode(tree).decode()
        assert all(sid in text for sid in sims)
    for sid, node in where.items():  # a station actor's detail, whichever node answers
        for _ in range(2):
            status, detail = await api.call(
                "GET", f"/api/v1/admin/actors/detail?path=/{node}/charge-points/{sid}")
            assert status == 200 and detail["node"] == node, detail
            assert any('"action":"BootNotification"' in m["summary"] for m in detail["recent"])
    for sid, node in where.items():
        for _ in range(2):
            status, body = await api.call("POST", "/api/v1/admin/actors/restart",
                                          {"path": f"/{node}/charge-points/{sid}"})
            assert status == 200, body
        assert sims[sid].ws.state.name == "OPEN"
    status, _ = await api.call("POST", "/api/v1/admin/actors/restart",
                               {"path": "/node-9/charge-points/nobody"})
    assert status == 404


async def holders(probe: StationRouter, stations: list[str]) -> dict[str, str | None]:
    return {sid: await probe.commander.locate(sid) for sid in stations}


async def test_commands_reach_stations_on_both_nodes_and_survive_a_node_kill(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve],
        probe: StationRouter) -> None:
    env = {**cluster_env, "SIGEC_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "SIGEC_ADMIN_EMAIL": ADMIN_EMAIL, "SIGEC_OCPP__CALL_TIMEOUT_S": "3"}
    serve = start_serve(tmp_path, env, ["--workers", "2"])
    serves.append(serve)
    await asyncio.to_thread(serve.wait_ready)
    api, session = await fresh_api(serve.http)
    sims: dict[str, SimulatedStation] = {}
    passwords: dict[str, str] = {}
    try:
        # Connect stations until both nodes hold some (the kernel spreads connections).
        for _ in range(40):
            sid = f"CL-{uuid.uuid4().hex[:8]}"
            passwords[sid] = await api.add_station(sid)
            sims[sid] = await connect(serve, sid, passwords[sid])
            where = await holders(probe, list(sims))
            if len(sims) >= 6 and {"node-1", "node-2"} <= set(where.values()):
                break
        where = await holders(probe, list(sims))
        assert set(where.values()) == {"node-1", "node-2"}, where

        await reset_all(api, list(sims))
        await tree_and_restart_across_nodes(api, sims, where)

        # SIGKILL node-1: its stations lose their socket; commands fail fast as offline.
        victim = next(n for n in serve.runtime["nodes"] if n["name"] == "node-1")
        lost = [sid for sid, node in where.items() if node == "node-1"]
        psutil.Process(victim["pid"]).send_signal(signal.SIGKILL)
        for sid in lost:
            await asyncio.wait_for(sims[sid].closed(), 10)
        # once NATS has dropped the dead node's subscriptions, commands fail fast as offline
        # (a command racing the kernel's close of the dead node's NATS socket may time out)
        # (and a request the kernel had queued on the dead node's listener is reset: retried)
        for _ in range(5):
            try:
                status, problem = await api.call("POST", f"/api/v1/devices/{lost[0]}/reset",
                                                 {"type": "OnIdle"})
            except aiohttp.ClientOSError:
                status, problem = 0, None
                continue
            if status != 504:
                break
        assert status == 409, problem

        # They reconnect (to whichever node the kernel picks) and are commandable again.
        for sid in lost:
            await sims[sid].close()
            sims[sid] = await connect(serve, sid, passwords[sid])
        after = await holders(probe, list(sims))
        assert None not in after.values(), after
        await reset_all(api, list(sims))
        assert all(sim.stats.max_in_flight <= 1 for sim in sims.values())
    finally:
        for sim in sims.values():
            await sim.close()
        await session.close()
    assert await asyncio.to_thread(serve.terminate) == 0
