"""A module's PostgreSQL with three stations, two locations, a week of transactions and an
online history; a node's reports (real actor tree) behind the in-process REST API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sigec_actors.adapters.pg import connect
from sigec_actors.node_tree import NodeTree
from sigec_actors.ports import DbPool
from sigec_actors.reports.ports import ReportSource
from sigec_actors.reports.sources import PgSource
from sigec_actors.reports.wiring import EXTRAS_KEY, ReportsWiring
from sigec_actors.runtime import ActorSystem
from tests.api.harness import Api, start_api

D1 = datetime(2026, 3, 2, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
STATIONS = (("RP-A", "Centro"), ("RP-B", "Praia"), ("RP-C", None))
SESSIONS = 60  # one every 2 h from D1: five days; the last three still active


async def _seed(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        locations = {}
        for name in ("Centro", "Praia"):
            locations[name] = await conn.fetchval(
                "INSERT INTO locations (name, latitude, longitude) VALUES ($1, -23.5, -46.6)"
                " RETURNING id", name)
        for station, place in STATIONS:
            await conn.execute(
                "INSERT INTO charge_points (id, location_id, created_at, last_seen)"
                " VALUES ($1, $2, $3, $3)", station, locations.get(place or ""), CREATED)
        for i in range(SESSIONS):
            start = D1 + timedelta(hours=2 * i)
            ended = i < SESSIONS - 3
            await conn.execute(
                "INSERT INTO transactions (charge_point_id, station_transaction_id, status,"
                " started_at, ended_at, energy_wh, cost_centavos) VALUES ($1, $2, $3, $4, $5,"
                " $6, $7)", STATIONS[i % 3][0], f"tx-{i}", "Ended" if ended else "Active",
                start, start + timedelta(minutes=30) if ended else None, 1000 + 10 * i,
                500 + i if ended else 0)
        # RP-A online on D1 from 06:00 to 18:00 (the trigger logs each change)
        for online, at in ((True, D1 + timedelta(hours=6)), (False, D1 + timedelta(hours=18))):
            await conn.execute("UPDATE charge_points SET online = $2, last_seen = $3"
                               " WHERE id = $1", "RP-A", online, at)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def seeded_dsn(migrated_pg_dsn: str) -> str:
    asyncio.run(_seed(migrated_pg_dsn))
    return migrated_pg_dsn


@dataclass
class Node:
    """A node's reports on a real actor tree, and the REST API that reaches them."""

    pool: DbPool
    system: ActorSystem
    tree: NodeTree
    reports: ReportsWiring
    api: Api

    async def close(self) -> None:
        await self.api.close()
        await self.system.shutdown()

    async def wait(self, report_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """Poll GET /reports/{id} until the report is done or failed."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            body: dict[str, Any] = await self.api.json(
                "GET", f"/api/v1/admin/reports/{report_id}", "operator")
            if body["status"] in ("done", "failed"):
                return body
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.05)


async def start_node(pool: DbPool, source: ReportSource | None = None,
                     stale_s: float = 120.0) -> Node:
    system = ActorSystem(name="rn1")
    tree = await NodeTree.start(system)
    wiring = ReportsWiring(pool, tree.reports, system.name, stale_s=stale_s,
                           source=source or PgSource(pool, batch_rows=7))  # many batches
    api = await start_api(extras={EXTRAS_KEY: wiring.service})
    return Node(pool, system, tree, wiring, api)


@pytest.fixture
async def node(pg_pool: DbPool) -> AsyncIterator[Node]:
    n = await start_node(pg_pool)
    yield n
    await n.close()
