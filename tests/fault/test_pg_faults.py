"""PostgreSQL faults under a real node while stations send TransactionEvents: connections
terminated mid-transaction; latency, then a blackhole, then back. Nothing acknowledged is lost,
nothing is stored, billed or published twice, and the node is ready again by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.fault.conftest import MakeProxy, Node, report, start_node, via
from tests.fault.stations import (
    TxStation,
    check_outbox_exactly_once,
    check_stored_once,
    eventually,
)

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]


async def _terminate(dsn: str) -> int:
    """pg_terminate_backend on every other connection to the node's database."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await conn.close()


async def _drive(node: Node, fault: asyncio.Task[dict[str, object]]) -> list[TxStation]:
    """Stations run sessions until the fault task is done, then finish their session."""
    stop = asyncio.Event()
    stations = [TxStation(sid, node.server.ocpp, f"RFID-{sid}", stop) for sid in node.ids]
    runs = asyncio.gather(*(s.run() for s in stations))
    try:
        await fault
    finally:
        stop.set()
    await asyncio.wait_for(runs, 120)
    return stations


async def _verify(name: str, node: Node, stations: list[TxStation],
                  injected: dict[str, object]) -> None:
    acked = await check_stored_once(node.dsn, stations)
    published = await check_outbox_exactly_once(node.dsn, node.nats_url)
    await eventually(node.ready)
    report(name, injected=injected, acked_events=acked, outbox_published=published,
           retries=sum(s.retries for s in stations))
    assert acked > 0


@pytest.mark.parametrize("kills", [pytest.param(4, id="ci"),
                                   pytest.param(40, id="soak", marks=pytest.mark.soak)])
async def test_connections_terminated_mid_transaction(
        tmp_path: Path, fresh_pg_dsn: str, nats_server: object, kills: int) -> None:
    url = nats_server.url  # type: ignore[attr-defined]
    node = await start_node(tmp_path, fresh_pg_dsn, url)

    async def fault() -> dict[str, object]:
        terminated = []
        for _ in range(kills):
            await asyncio.sleep(0.7)
            terminated.append(await _terminate(fresh_pg_dsn))
        return {"pg_terminate_backend_rounds": kills, "connections_terminated": terminated}

    try:
        task = asyncio.create_task(fault())
        stations = await _drive(node, task)
        await _verify("pg-terminate", node, stations, task.result())
    finally:
        node.server.kill()


@pytest.mark.parametrize("hole_s", [pytest.param(5.0, id="ci"),
                                    pytest.param(30.0, id="soak", marks=pytest.mark.soak)])
async def test_latency_then_blackhole_then_pass(
        tmp_path: Path, fresh_pg_dsn: str, nats_server: object, make_proxy: MakeProxy,
        hole_s: float) -> None:
    url = nats_server.url  # type: ignore[attr-defined]
    proxy = await make_proxy(fresh_pg_dsn)
    node = await start_node(tmp_path, fresh_pg_dsn, url, db_url=via(fresh_pg_dsn, proxy.port))

    async def fault() -> dict[str, object]:
        await asyncio.sleep(1.0)
        proxy.set_mode("latency", 500)  # goal F4: 500 ms added to PostgreSQL
        await asyncio.sleep(3.0)
        proxy.set_mode("blackhole")
        await asyncio.sleep(hole_s)
        proxy.set_mode("pass")
        await asyncio.sleep(1.0)
        return proxy.report()

    try:
        task = asyncio.create_task(fault())
        stations = await _drive(node, task)
        await _verify("pg-latency-blackhole", node, stations, task.result())
    finally:
        node.server.kill()
