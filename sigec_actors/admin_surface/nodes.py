"""Each node's summary for the dashboard (stations held, deepest mailbox) and its starts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from sigec_actors.node_tree import CHARGE_POINTS
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem
from sigec_actors.runtime.census import census
from sigec_actors.runtime.snapshot import ActorSnapshot


class NodeSummary(msgspec.Struct, frozen=True):
    stations: int
    mailbox_depth_max: int


def summarize(root: ActorSnapshot) -> NodeSummary:
    """Stations held (children of the charge-points supervisor) and the deepest mailbox, from
    a snapshot (a live node counts with runtime.census instead: no snapshot to build)."""
    stations = deepest = 0
    stack = [root]
    while stack:
        node = stack.pop()
        deepest = max(deepest, node.mailbox_depth)
        if node.path.rsplit("/", 1)[-1] == CHARGE_POINTS:
            stations = len(node.children)
        stack.extend(node.children)
    return NodeSummary(stations, deepest)


def live_summary(system: ActorSystem) -> NodeSummary:
    """This node's summary from its running tree."""
    counted = census(system, CHARGE_POINTS)
    return NodeSummary(counted.held, counted.mailbox_depth_max)


class PgNodeReports:
    """node_status / node_starts (migration 0021)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def started(self, name: str, at: datetime) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO node_starts (name, started_at) VALUES ($1, $2)"
                               " ON CONFLICT DO NOTHING", name, at)
            await conn.execute(
                "INSERT INTO node_status (name, started_at, seen_at) VALUES ($1, $2, $2)"
                " ON CONFLICT (name) DO UPDATE SET started_at = $2, seen_at = $2,"
                " stations = 0, mailbox_depth_max = 0", name, at)

    async def report(self, name: str, summary: NodeSummary, at: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO node_status (name, started_at, seen_at, stations,"
                " mailbox_depth_max) VALUES ($1, $2, $2, $3, $4) ON CONFLICT (name) DO UPDATE"
                " SET seen_at = $2, stations = $3, mailbox_depth_max = $4",
                name, at, summary.stations, summary.mailbox_depth_max)

    async def fresh(self, since: datetime) -> list[str]:
        """The nodes that reported since `since`."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT name FROM node_status WHERE seen_at >= $1"
                                    " ORDER BY name", since)
        return [r["name"] for r in rows]

    async def starts_since(self, since: datetime) -> dict[str, int]:
        """How many times each node started since `since`."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT name, count(*) AS n FROM node_starts"
                                    " WHERE started_at >= $1 GROUP BY name", since)
        return {r["name"]: int(r["n"]) for r in rows}


class NodeReporter:
    """Stores this node's summary; `tick` is run every [operator] node_report_s."""

    def __init__(self, name: str, reports: PgNodeReports, summary: Callable[[], NodeSummary],
                 clock: Callable[[], datetime]) -> None:
        self.name = name
        self._reports = reports
        self._summary = summary
        self._clock = clock

    async def start(self) -> None:
        await self._reports.started(self.name, self._clock())

    async def tick(self) -> None:
        await self._reports.report(self.name, self._summary(), self._clock())
