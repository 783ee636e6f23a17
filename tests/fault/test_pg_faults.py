"""PostgreSQL faults under a real node while stations send TransactionEvents: connections
terminated mid-transaction; latency, then a blackhole, then back (goal F4: how long after the
fault is removed the p99 of the stations' CALLs is back under 0.5 s is measured and reported).
Nothing acknowledged is lost, nothing is stored, billed or published twice, and the node is
ready again by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.fault.conftest import MakeProxy, Node, report, start_node, via
from tests.fault.stations import (
    TxStation,
    check_outbox_exactly_once,
    check_stored_once,
    eventually,
    p99,
    recovered_after,
)

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
RECOVERED_S = 0.5  # F4: the stations' p99 is back under the latency the toxic added
WATCH_S = 60.0  # how long after the fault is removed recovery is awaited (runs allow 120 s)
Fault = Callable[[list[TxStation]], Awaitable[dict[str, object]]]


async def _terminate(dsn: str) -> int:
    """pg_terminate_backend on every other connection to the node's database."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await conn.close()


async def _drive(node: Node, fault: Fault) -> tuple[list[TxStation], dict[str, object]]:
    """Stations run sessions until the fault is done, then finish their session."""
    stop = asyncio.Event()
    stations = [TxStation(sid, node.server.ocpp, f"RFID-{sid}", stop) for sid in node.ids]
    runs = asyncio.gather(*(s.run() for s in stations))
    try:
        injected = await fault(stations)
    finally:
        stop.set()
    await asyncio.wait_for(runs, 120)
    return stations, injected


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

    async def fault(_stations: list[TxStation]) -> dict[str, object]:
        terminated = []
        for _ in range(kills):
            await asyncio.sleep(0.7)
            terminated.append(await _terminate(fresh_pg_dsn))
        return {"pg_terminate_backend_rounds": kills, "connections_terminated": terminated}

    try:
        stations, injected = await _drive(node, fault)
        await _verify("pg-terminate", node, stations, injected)
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

    async def fault(stations: list[TxStation]) -> dict[str, object]:
        await asyncio.sleep(1.0)
        before = p99([lat for s in stations for _, lat in s.answers])
        proxy.set_mode("latency", 500)  # goal F4: 500 ms added to PostgreSQL
        await asyncio.sleep(3.0)
        proxy.set_mode("blackhole")
        await asyncio.sleep(hole_s)
        proxy.set_mode("pass")
        removed = time.monotonic()
        recovery = await _recovery(stations, removed)
        return {**proxy.report(), "p99_before_s": round(before, 3),
                "p99_under_0.5s_after_pass_s": recovery}

    try:
        stations, injected = await _drive(node, fault)
        await _verify("pg-latency-blackhole", node, stations, injected)
        assert injected["p99_under_0.5s_after_pass_s"] is not None, (
            f"the stations' p99 was not back under {RECOVERED_S} s {WATCH_S} s after the fault")
    finally:
        node.server.kill()


async def _recovery(stations: list[TxStation], removed: float) -> float | None:
    """Wait until the stations' sliding p99 has been under RECOVERED_S for 2 s (at most WATCH_S)
    and return how long after `removed` it got there (None: not within WATCH_S)."""
    while time.monotonic() < removed + WATCH_S:
        await asyncio.sleep(0.5)
        answers = [a for s in stations for a in s.answers]
        got = recovered_after(answers, removed, RECOVERED_S)
        if got is not None and time.monotonic() - removed - got >= 2.0:
            return round(got, 2)
    return None
