"""The SQL each report kind streams: rows `(station, location_id, location_name, at, *values)`.

Rows come through a server-side cursor in one read-only REPEATABLE READ transaction, so the
count that drives the progress and the rows agree, and memory holds one batch at a time.
"""
# ruff: noqa: S608 -- every query here is built from this module's constants; values are $n

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sigec_actors.ports import DbPool
from sigec_actors.reports.model import ReportKind, ReportSpec

_PLACE = ("LEFT JOIN charge_points cp ON cp.id = {t}.charge_point_id "
          "LEFT JOIN locations l ON l.id = cp.location_id")
_TX = "FROM transactions t " + _PLACE.format(t="t")
_STARTED = " WHERE t.started_at >= $1::timestamptz AND t.started_at < $2::timestamptz"
_ENDED = (" WHERE t.status = 'Ended' AND t.ended_at >= $1::timestamptz"
          " AND t.ended_at < $2::timestamptz")
_V2G = ("FROM v2g_sessions s LEFT JOIN v2g_compensations c ON c.session_id = s.id "
        + _PLACE.format(t="s") + " WHERE coalesce(s.started_at, s.created_at) >= $1::timestamptz"
        " AND coalesce(s.started_at, s.created_at) < $2::timestamptz")
_HEAD = "SELECT {t}.charge_point_id, l.id::text, l.name, "

# Uptime: per station, its state at the window's start (or its creation), then its changes.
_SEED_AT = "greatest($1::timestamptz, cp.created_at)"
_UPTIME_SEEDS = (
    "SELECT cp.id, l.id::text, l.name, " + _SEED_AT + " AS at, coalesce(("
    "SELECT s.online FROM station_status_log s WHERE s.charge_point_id = cp.id"
    " AND s.changed_at <= " + _SEED_AT + " ORDER BY s.changed_at DESC, s.id DESC LIMIT 1),"
    " false) AS online, 0 AS part, 0::bigint AS seq"
    " FROM charge_points cp LEFT JOIN locations l ON l.id = cp.location_id"
    " WHERE cp.created_at < $2::timestamptz")
_UPTIME_CHANGES = (
    " FROM station_status_log s JOIN charge_points cp ON cp.id = s.charge_point_id"
    " LEFT JOIN locations l ON l.id = cp.location_id"
    " WHERE s.changed_at > " + _SEED_AT + " AND s.changed_at < $2::timestamptz")


@dataclass(frozen=True)
class Source:
    """How many rows a kind will stream over a window, and the query that streams them."""

    count_sql: str
    rows_sql: str


SOURCES: dict[ReportKind, Source] = {
    ReportKind.ENERGY: Source(
        "SELECT count(*) FROM transactions t" + _STARTED,
        _HEAD.format(t="t") + "t.started_at, 1, t.energy_wh, t.energy_export_wh "
        + _TX + _STARTED),
    ReportKind.TRANSACTIONS: Source(
        "SELECT count(*) FROM transactions t" + _STARTED,
        _HEAD.format(t="t") + "t.started_at, 1, (t.status = 'Ended')::int, "
        "CASE WHEN t.status = 'Ended' THEN extract(epoch FROM t.ended_at - t.started_at)::bigint"
        " ELSE 0 END, t.energy_wh " + _TX + _STARTED),
    ReportKind.REVENUE: Source(
        "SELECT count(*) FROM transactions t" + _ENDED,
        _HEAD.format(t="t") + "t.ended_at, 1, t.energy_wh, t.cost_centavos " + _TX + _ENDED),
    ReportKind.V2G: Source(
        "SELECT count(*) " + _V2G,
        _HEAD.format(t="s") + "coalesce(s.started_at, s.created_at), 1,"
        " (s.status = 'Completed')::int, s.energy_transferred_wh,"
        " coalesce(c.net_amount_centavos, s.user_compensation_centavos) " + _V2G),
    ReportKind.UPTIME: Source(
        "SELECT (SELECT count(*) FROM charge_points cp WHERE cp.created_at < $2::timestamptz)"
        " + (SELECT count(*)" + _UPTIME_CHANGES + ")",
        _UPTIME_SEEDS + " UNION ALL SELECT s.charge_point_id, l.id::text, l.name, s.changed_at,"
        " s.online, 1, s.id" + _UPTIME_CHANGES + " ORDER BY 1, 4, 6, 7"),
}


async def count(conn: Any, spec: ReportSpec) -> int:
    """Rows the report will stream (inside the streaming transaction: the same snapshot)."""
    return int(await conn.fetchval(SOURCES[spec.kind].count_sql, spec.from_at, spec.to_at))


async def batches(conn: Any, spec: ReportSpec, size: int) -> AsyncIterator[list[Any]]:
    """The source rows in batches of `size` through a server-side cursor (needs a transaction)."""
    cursor = await conn.cursor(SOURCES[spec.kind].rows_sql, spec.from_at, spec.to_at)
    while batch := await cursor.fetch(size):
        yield batch


class PgSource:
    """Opens a read-only REPEATABLE READ transaction: the count and the cursor's batches."""

    def __init__(self, pool: DbPool, batch_rows: int = 2000) -> None:
        self._pool = pool
        self._batch = batch_rows

    @asynccontextmanager
    async def open(self, spec: ReportSpec) -> AsyncIterator[tuple[int, AsyncIterator[list[Any]]]]:
        async with self._pool.acquire() as conn, conn.transaction(
                isolation="repeatable_read", readonly=True):
            yield await count(conn, spec), batches(conn, spec, self._batch)
