"""PostgreSQL operator alerts: open with dedupe and the `alert.opened` outbox event, list, close."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sigec_actors.adapters.outbox import add as add_event
from sigec_actors.adapters.pg import ForeignKeyViolation, to_record, transaction
from sigec_actors.alerts.model import (
    Alert,
    AlertFilter,
    AlertPage,
    AlertResolved,
    NewAlert,
    Opened,
    UnknownAlert,
    opened_event,
)
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.ports import DbConn, DbPool

_INSERT = (
    "INSERT INTO alerts (charge_point_id, severity, kind, message, details, dedupe_key)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (dedupe_key) WHERE resolved_at IS NULL AND dedupe_key IS NOT NULL"
    " DO NOTHING RETURNING *")
_OPEN_BY_KEY = "SELECT * FROM alerts WHERE dedupe_key = $1 AND resolved_at IS NULL"
_WHERE = (
    " WHERE ($1::text IS NULL"
    " OR ($1 = 'open' AND resolved_at IS NULL AND acknowledged_at IS NULL)"
    " OR ($1 = 'acknowledged' AND resolved_at IS NULL AND acknowledged_at IS NOT NULL)"
    " OR ($1 = 'resolved' AND resolved_at IS NOT NULL))"
    " AND ($2::text IS NULL OR severity = $2) AND ($3::text IS NULL OR kind = $3)"
    " AND ($4::text IS NULL OR charge_point_id = $4)")
# constants only; every value is a parameter
_PAGE = ("SELECT * FROM alerts" + _WHERE  # noqa: S608
         + " ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6")
_COUNT = "SELECT count(*) FROM alerts" + _WHERE  # noqa: S608
_ACKNOWLEDGE = (
    "UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()),"
    " acknowledged_by = coalesce(acknowledged_by, $2)"
    " WHERE id = $1 AND resolved_at IS NULL RETURNING *")
_RESOLVE = "UPDATE alerts SET resolved_at = now() WHERE id = $1 AND resolved_at IS NULL RETURNING *"
_OPEN_ATTEMPTS = 3
"""An insert that met an open alert which is resolved before we read it tries again."""


class PgAlerts:
    """The Alerts port on the `alerts` table (migration 0004) and the outbox."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def open(self, new: NewAlert) -> Opened:
        for _ in range(_OPEN_ATTEMPTS):
            async with transaction(self._pool) as conn:
                opened = await _open_once(conn, new)
            if opened is not None:
                return opened
        raise RuntimeError(f"alert {new.dedupe_key} kept closing while being opened")

    async def get(self, alert_id: UUID) -> Alert | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)
        return None if row is None else _alert(row)

    async def page(self, where: AlertFilter, limit: int = 50, offset: int = 0) -> AlertPage:
        args = (where.status.value if where.status else None,
                where.severity.value if where.severity else None, where.kind,
                where.charge_point_id)
        async with self._pool.acquire() as conn, conn.transaction(
                isolation="repeatable_read", readonly=True):  # one snapshot: page and total agree
            rows = await conn.fetch(_PAGE, *args, limit, offset)
            total = await conn.fetchval(_COUNT, *args)
        return AlertPage([_alert(r) for r in rows], int(total))

    async def acknowledge(self, alert_id: UUID, by: UUID) -> Alert:
        return await self._close(alert_id, _ACKNOWLEDGE, by)

    async def resolve(self, alert_id: UUID) -> Alert:
        return await self._close(alert_id, _RESOLVE)

    async def _close(self, alert_id: UUID, update: str, *args: Any) -> Alert:
        """Update an unresolved alert; tell an unknown one from a resolved one."""
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(update, alert_id, *args)
            if row is not None:
                return _alert(row)
            if await conn.fetchval("SELECT 1 FROM alerts WHERE id = $1", alert_id) is None:
                raise UnknownAlert(alert_id)
        raise AlertResolved(alert_id)


async def _open_once(conn: DbConn, new: NewAlert) -> Opened | None:
    try:
        row = await conn.fetchrow(_INSERT, new.charge_point_id, new.severity.value, new.kind,
                                  new.message, new.details, new.dedupe_key)
    except ForeignKeyViolation:
        assert new.charge_point_id is not None  # the only foreign key set on insert
        raise UnknownStation(new.charge_point_id) from None
    if row is not None:
        alert = _alert(row)
        event = opened_event(alert)
        await add_event(conn, event.subject, event.payload)
        return Opened(alert, created=True)
    existing = await conn.fetchrow(_OPEN_BY_KEY, new.dedupe_key)
    return None if existing is None else Opened(_alert(existing), created=False)


def _alert(row: Any) -> Alert:
    return to_record(row, Alert)
