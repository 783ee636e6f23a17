"""The dashboard's figures, read from PostgreSQL in one round trip of aggregate queries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from sigec_actors.ports import DbPool


class StationCounts(msgspec.Struct, frozen=True, rename="camel"):
    """Registered stations (deleted ones left out); faulted: with a Faulted connector."""

    total: int
    online: int
    offline: int
    faulted: int


class ConnectorCounts(msgspec.Struct, frozen=True, rename="camel"):
    """Connectors by status; every connector of an offline station counts as unavailable."""

    available: int
    occupied: int
    reserved: int
    faulted: int
    unavailable: int


class SessionCounts(msgspec.Struct, frozen=True, rename="camel"):
    active: int


class Today(msgspec.Struct, frozen=True, rename="camel"):
    """Charging sessions that ended today (local midnight of [operator] timezone) and what
    they delivered and cost."""

    sessions: int
    energy_wh: int
    revenue_centavos: int


class V2GToday(msgspec.Struct, frozen=True, rename="camel"):
    active_sessions: int
    exported_wh_today: int
    paid_centavos_today: int


class AlertCounts(msgspec.Struct, frozen=True, rename="camel"):
    open: int
    critical: int


class NodeFigures(msgspec.Struct, frozen=True, rename="camel"):
    name: str
    stations: int
    mailbox_depth_max: int
    seen_at: datetime


class Dashboard(msgspec.Struct, frozen=True, rename="camel"):
    stations: StationCounts
    connectors: ConnectorCounts
    sessions: SessionCounts
    today: Today
    v2g: V2GToday
    alerts: AlertCounts
    nodes: list[NodeFigures]
    at: datetime


MAX_AGE_S = 2.0  # figures this fresh are answered again (the route is polled every few s)
_LIVE_V2G = "('Requested', 'Active', 'Stopping')"
# One statement, one scan per table: each sub-select aggregates its table once.
_QUERY = f"""
SELECT * FROM
 (SELECT count(*) AS stations, count(*) FILTER (WHERE online) AS online
    FROM charge_points WHERE admin_status <> 'Retired') s,
 (SELECT count(DISTINCT c.charge_point_id) FILTER (WHERE c.status = 'Faulted') AS faulted,
    count(*) FILTER (WHERE cp.online AND c.status = 'Available') AS available,
    count(*) FILTER (WHERE cp.online AND c.status = 'Occupied') AS occupied,
    count(*) FILTER (WHERE cp.online AND c.status = 'Reserved') AS reserved,
    count(*) FILTER (WHERE cp.online AND c.status = 'Faulted') AS c_faulted,
    count(*) FILTER (WHERE NOT cp.online OR c.status = 'Unavailable') AS unavailable
    FROM connectors c JOIN charge_points cp ON cp.id = c.charge_point_id
    WHERE cp.admin_status <> 'Retired') k,
 (SELECT count(*) AS active FROM transactions WHERE status = 'Active') a,
 (SELECT count(*) AS today_sessions, coalesce(sum(energy_wh), 0) AS today_wh,
    coalesce(sum(cost_centavos), 0) AS today_centavos
    FROM transactions WHERE ended_at >= $1) t,
 (SELECT count(*) FILTER (WHERE status IN {_LIVE_V2G}) AS v2g_active,
    coalesce(sum(energy_transferred_wh), 0) AS v2g_wh
    FROM v2g_sessions WHERE status IN {_LIVE_V2G} OR ended_at >= $1) v,
 (SELECT coalesce(sum(net_amount_centavos), 0) AS v2g_paid FROM v2g_compensations
    WHERE status = 'paid' AND paid_at >= $1) p,
 (SELECT count(*) AS alerts_open, count(*) FILTER (WHERE severity = 'critical')
    AS alerts_critical FROM alerts WHERE resolved_at IS NULL) al
"""  # noqa: S608 -- constant text


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s day in `tz`."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class PgDashboard:
    """Dashboard figures: stations, connectors, sessions, today's totals, V2G, alerts and
    the nodes that reported within `node_fresh_s`."""

    def __init__(self, pool: DbPool, timezone: str, node_fresh_s: float,
                 max_age_s: float = MAX_AGE_S) -> None:
        self._pool = pool
        self._tz = ZoneInfo(timezone)
        self._fresh = timedelta(seconds=node_fresh_s)
        self._max_age = timedelta(seconds=max_age_s)
        self._last: Dashboard | None = None
        self._lock = asyncio.Lock()

    async def figures(self, now: datetime) -> Dashboard:
        """The figures at `now`; callers within `max_age_s` of the last computation on this
        node share it (and wait for one computation), so many polling operators cost one."""
        async with self._lock:
            last = self._last
            if last is not None and abs(now - last.at) < self._max_age:
                return last
            self._last = await self._compute(now)
            return self._last

    async def _compute(self, now: datetime) -> Dashboard:
        since = local_midnight(now, self._tz)
        async with self._pool.acquire() as conn:
            r = await conn.fetchrow(_QUERY, since)
            nodes = await conn.fetch(
                "SELECT name, stations, mailbox_depth_max, seen_at FROM node_status"
                " WHERE seen_at >= $1 ORDER BY name", now - self._fresh)
        return Dashboard(
            stations=StationCounts(total=r["stations"], online=r["online"],
                                   offline=r["stations"] - r["online"], faulted=r["faulted"]),
            connectors=ConnectorCounts(available=r["available"], occupied=r["occupied"],
                                       reserved=r["reserved"], faulted=r["c_faulted"],
                                       unavailable=r["unavailable"]),
            sessions=SessionCounts(active=r["active"]),
            today=Today(sessions=r["today_sessions"], energy_wh=int(r["today_wh"]),
                        revenue_centavos=int(r["today_centavos"])),
            v2g=V2GToday(active_sessions=r["v2g_active"], exported_wh_today=int(r["v2g_wh"]),
                         paid_centavos_today=int(r["v2g_paid"])),
            alerts=AlertCounts(open=r["alerts_open"], critical=r["alerts_critical"]),
            nodes=[NodeFigures(name=n["name"], stations=n["stations"],
                               mailbox_depth_max=n["mailbox_depth_max"], seen_at=n["seen_at"])
                   for n in nodes],
            at=now)
