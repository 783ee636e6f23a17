"""The dashboard's figures, read from PostgreSQL in one round trip of aggregate queries."""

from __future__ import annotations

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


_LIVE_V2G = "('Requested', 'Active', 'Stopping')"
_QUERY = f"""
SELECT
 (SELECT count(*) FROM charge_points WHERE admin_status <> 'Retired') AS stations,
 (SELECT count(*) FROM charge_points WHERE online AND admin_status <> 'Retired') AS online,
 (SELECT count(DISTINCT c.charge_point_id) FROM connectors c
    JOIN charge_points cp ON cp.id = c.charge_point_id
    WHERE c.status = 'Faulted' AND cp.admin_status <> 'Retired') AS faulted,
 (SELECT coalesce(jsonb_object_agg(status, n), '{{}}') FROM (
    SELECT CASE WHEN cp.online THEN c.status ELSE 'Unavailable' END AS status, count(*) AS n
    FROM connectors c JOIN charge_points cp ON cp.id = c.charge_point_id
    WHERE cp.admin_status <> 'Retired' GROUP BY 1) s) AS connectors,
 (SELECT count(*) FROM transactions WHERE status = 'Active') AS active,
 (SELECT count(*) FROM transactions WHERE ended_at >= $1) AS today_sessions,
 (SELECT coalesce(sum(energy_wh), 0) FROM transactions WHERE ended_at >= $1) AS today_wh,
 (SELECT coalesce(sum(cost_centavos), 0) FROM transactions WHERE ended_at >= $1)
    AS today_centavos,
 (SELECT count(*) FROM v2g_sessions WHERE status IN {_LIVE_V2G}) AS v2g_active,
 (SELECT coalesce(sum(energy_transferred_wh), 0) FROM v2g_sessions
    WHERE status IN {_LIVE_V2G} OR ended_at >= $1) AS v2g_wh,
 (SELECT coalesce(sum(net_amount_centavos), 0) FROM v2g_compensations
    WHERE status = 'paid' AND paid_at >= $1) AS v2g_paid,
 (SELECT count(*) FROM alerts WHERE resolved_at IS NULL) AS alerts_open,
 (SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND severity = 'critical')
    AS alerts_critical
"""  # noqa: S608 -- constant text


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s day in `tz`."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class PgDashboard:
    """Dashboard figures: stations, connectors, sessions, today's totals, V2G, alerts and
    the nodes that reported within `node_fresh_s`."""

    def __init__(self, pool: DbPool, timezone: str, node_fresh_s: float) -> None:
        self._pool = pool
        self._tz = ZoneInfo(timezone)
        self._fresh = timedelta(seconds=node_fresh_s)

    async def figures(self, now: datetime) -> Dashboard:
        since = local_midnight(now, self._tz)
        async with self._pool.acquire() as conn:
            r = await conn.fetchrow(_QUERY, since)
            nodes = await conn.fetch(
                "SELECT name, stations, mailbox_depth_max, seen_at FROM node_status"
                " WHERE seen_at >= $1 ORDER BY name", now - self._fresh)
        conn_counts = msgspec.json.decode(r["connectors"]) if isinstance(
            r["connectors"], (str, bytes)) else dict(r["connectors"])
        return Dashboard(
            stations=StationCounts(total=r["stations"], online=r["online"],
                                   offline=r["stations"] - r["online"], faulted=r["faulted"]),
            connectors=ConnectorCounts(**{k.lower(): int(conn_counts.get(k, 0)) for k in (
                "Available", "Occupied", "Reserved", "Faulted", "Unavailable")}),
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
