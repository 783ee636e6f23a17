"""GET /api/v1/admin/dashboard on PostgreSQL: every figure from seeded rows, roles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.routes import dashboard
from sigec_actors.admin_surface.dashboard import PgDashboard
from sigec_actors.admin_surface.nodes import NodeReporter, PgNodeReports, summarize
from sigec_actors.domain.records import Role
from sigec_actors.ports import DbPool
from sigec_actors.runtime.snapshot import ActorSnapshot
from tests.api.harness import Api

pytestmark = pytest.mark.pg
URL = "/api/v1/admin/dashboard"


def _actor(path: str, depth: int = 0, children: list[ActorSnapshot] | None = None
           ) -> ActorSnapshot:
    return ActorSnapshot(path=path, kind="k", state="running", mailbox_depth=depth,
                         processed=0, restarts=0, uptime_s=1.0, last_error=None,
                         children=children or [])


def test_summary_counts_held_stations_and_the_deepest_mailbox() -> None:
    tree = _actor("/node-1", 0, [
        _actor("/node-1/charge-points", 1, [_actor("/node-1/charge-points/A", 7),
                                            _actor("/node-1/charge-points/B", 2)]),
        _actor("/node-1/v2g", 9)])
    s = summarize(tree)
    assert (s.stations, s.mailbox_depth_max) == (2, 9)


async def _seed(pool: DbPool, api: Api) -> None:
    now = api.clock()
    async with pool.acquire() as conn:
        await conn.execute("UPDATE charge_points SET online = id IN ('CP-1', 'CP-2')")
        await conn.execute("INSERT INTO charge_points (id, admin_status, online) VALUES"
                           " ('CP-DELETED', 'Retired', true)")  # left out of every figure
        await conn.execute("INSERT INTO connectors (charge_point_id, evse_id, connector_id,"
                           " status) VALUES ('CP-DELETED', 1, 1, 'Faulted')")
        await conn.executemany(
            "INSERT INTO connectors (charge_point_id, evse_id, connector_id, status)"
            " VALUES ($1, $2, 1, $3)",
            [("CP-1", 1, "Available"), ("CP-1", 2, "Occupied"), ("CP-2", 1, "Faulted"),
             ("CP-2", 2, "Reserved"), ("CP-3", 1, "Available")])  # CP-3 offline
        await conn.executemany(
            "INSERT INTO transactions (charge_point_id, station_transaction_id, status,"
            " started_at, ended_at, energy_wh, cost_centavos) VALUES ($1, $2, $3, $4, $5,"
            " $6, $7)",
            [("CP-1", "t-active", "Active", now - timedelta(minutes=5), None, 300, 50),
             ("CP-1", "t-today", "Ended", now - timedelta(minutes=50),
              now - timedelta(minutes=1), 12_000, 1_900),
             ("CP-2", "t-today2", "Ended", now - timedelta(minutes=40),
              now - timedelta(minutes=2), 3_000, 550),
             ("CP-2", "t-old", "Ended", now - timedelta(days=3),
              now - timedelta(days=3) + timedelta(hours=1), 40_000, 9_999)])
        await conn.executemany(
            "INSERT INTO alerts (severity, kind, message) VALUES ($1, 'x', 'm')",
            [("critical",), ("warning",), ("critical",)])
        await conn.execute("UPDATE alerts SET resolved_at = now() WHERE id IN"
                           " (SELECT id FROM alerts WHERE severity = 'critical' LIMIT 1)")
    reports = PgNodeReports(pool)
    node = NodeReporter("node-1", reports, lambda: summarize(_actor("/node-1", 0, [
        _actor("/node-1/charge-points", 4, [_actor("/node-1/charge-points/CP-1")])])),
        api.clock)
    await node.start()
    await node.tick()
    async with pool.acquire() as conn:  # a node that stopped reporting is left off
        await conn.execute("INSERT INTO node_status (name, started_at, seen_at) VALUES"
                           " ('node-gone', $1, $1)", now - timedelta(minutes=5))


async def test_dashboard_figures(pg_api: Api, pool: DbPool) -> None:
    api = pg_api
    api.clock.now = api.clock.now.replace(hour=18, minute=0)  # 15:00 in São Paulo
    for who, role in (("operator", Role.OPERATOR), ("user", Role.USER)):
        api.tokens[who] = api.token_for(api.ids[who], role)
    api.ctx.extras[dashboard.EXTRAS_KEY] = PgDashboard(pool, "America/Sao_Paulo", 15.0)
    await _seed(pool, api)
    d = await api.json("GET", URL, "operator")
    assert d["stations"] == {"total": 4, "online": 2, "offline": 2, "faulted": 1}
    assert d["connectors"] == {"available": 1, "occupied": 1, "reserved": 1, "faulted": 1,
                               "unavailable": 1}
    assert d["sessions"] == {"active": 1}
    assert d["today"] == {"sessions": 2, "energyWh": 15_000, "revenueCentavos": 2_450}
    assert d["v2g"] == {"activeSessions": 0, "exportedWhToday": 0, "paidCentavosToday": 0}
    assert d["alerts"] == {"open": 2, "critical": 1}
    assert [(n["name"], n["stations"], n["mailboxDepthMax"]) for n in d["nodes"]] == [
        ("node-1", 1, 4)]
    await api.json("GET", URL, "user", status=403)
    await api.json("GET", URL, status=401)


async def test_figures_are_shared_for_two_seconds(pool: DbPool) -> None:
    board = PgDashboard(pool, "UTC", 15.0)
    now = datetime.now(UTC)
    first = await board.figures(now)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ('CP-NEW')")
    same = await asyncio.gather(*(board.figures(now + timedelta(seconds=1)) for _ in range(5)))
    assert all(f is first for f in same)
    later = await board.figures(now + timedelta(seconds=3))
    assert later.stations.total == first.stations.total + 1
