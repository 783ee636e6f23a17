"""Tariff administration on PostgreSQL: every write under one advisory lock, so the overlap
check and the write it guards are one step across nodes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from sigec_actors.adapters.pg import to_record
from sigec_actors.ports import DbConn, DbPool
from sigec_actors.tariffs.model import (
    BadTariff,
    TariffOverlap,
    TariffRow,
    UnknownTariff,
    first_overlap,
    plan_delete,
    plan_edit,
)

_LOCK = 0x7A21F  # pg_advisory_xact_lock key of tariff writes
_WRITABLE = frozenset({"name", "charge_point_id", "evse_id", "connector_id", "currency",
                       "price_per_kwh_centavos", "per_minute_centavos",
                       "idle_per_minute_centavos", "session_fee_centavos", "valid_from",
                       "valid_to", "replaces_id", "deleted_at"})


def _row(record: Any) -> TariffRow:
    return to_record(record, TariffRow)


class PgTariffAdmin:
    """Create, list, change and delete stored tariffs (the rules are in tariffs.model)."""

    def __init__(self, pool: DbPool, ids: Callable[[], UUID] = uuid.uuid4) -> None:
        self._pool = pool
        self._ids = ids

    async def page(self, limit: int, offset: int, *,
                   deleted: bool = False) -> tuple[list[TariffRow], int]:
        where = "" if deleted else " WHERE deleted_at IS NULL"
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM tariffs" + where +  # noqa: S608 -- fixed text
                " ORDER BY valid_from DESC, id LIMIT $1 OFFSET $2", limit, offset)
            total = await conn.fetchval("SELECT count(*) FROM tariffs" + where)  # noqa: S608
        return [_row(r) for r in rows], int(total)

    async def get(self, tariff_id: UUID) -> TariffRow | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM tariffs WHERE id = $1", tariff_id)
        return None if row is None else _row(row)

    async def create(self, row: TariffRow) -> TariffRow:
        """Store `row` (its id is kept); TariffOverlap, BadTariff (unknown station)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            await _refuse_overlap(conn, row)
            return await _insert(conn, row)

    async def update(self, tariff_id: UUID, changes: Mapping[str, Any],
                     now: datetime) -> TariffRow:
        """Apply a PATCH (tariffs.model.plan_edit): the changed row, or its successor."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            row = await _locked(conn, tariff_id)
            edit = plan_edit(row, dict(changes), now, used=await _used(conn, tariff_id),
                             new_id=self._ids())
            if edit.successor is None:
                changed = msgspec.structs.replace(row, **edit.update)
                await _refuse_overlap(conn, changed)
                return await _set(conn, tariff_id, edit.update)
            await _set(conn, tariff_id, edit.update)
            await _refuse_overlap(conn, edit.successor)
            return await _insert(conn, edit.successor)

    async def delete(self, tariff_id: UUID, now: datetime) -> TariffRow | None:
        """End and mark the tariff (kept for history); None when it was removed outright."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            row = await _locked(conn, tariff_id)
            values = plan_delete(row, now, used=await _used(conn, tariff_id))
            if values is None:
                await conn.execute("DELETE FROM tariffs WHERE id = $1", tariff_id)
                return None
            return await _set(conn, tariff_id, values)


def _fields(row: TariffRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


async def _locked(conn: DbConn, tariff_id: UUID) -> TariffRow:
    record = await conn.fetchrow("SELECT * FROM tariffs WHERE id = $1 FOR UPDATE", tariff_id)
    if record is None:
        raise UnknownTariff(tariff_id)
    return _row(record)


async def _used(conn: DbConn, tariff_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM transactions WHERE tariff_id = $1)", tariff_id))


async def _refuse_overlap(conn: DbConn, row: TariffRow) -> None:
    rows = await conn.fetch(
        "SELECT * FROM tariffs WHERE deleted_at IS NULL AND charge_point_id IS NOT DISTINCT"
        " FROM $1 AND evse_id IS NOT DISTINCT FROM $2 AND connector_id IS NOT DISTINCT FROM $3",
        row.charge_point_id, row.evse_id, row.connector_id)
    other = first_overlap(row, (_row(r) for r in rows))
    if other is not None:
        raise TariffOverlap(other.id)


async def _insert(conn: DbConn, row: TariffRow) -> TariffRow:
    values = {k: v for k, v in _fields(row).items() if k in _WRITABLE}
    names = ["id", *values]
    marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    try:
        record = await conn.fetchrow(
            f"INSERT INTO tariffs ({', '.join(names)}) VALUES ({marks}) RETURNING *",  # noqa: S608 -- fixed column names
            row.id, *values.values())
    except asyncpg.ForeignKeyViolationError:
        raise BadTariff("charge_point_id", "names no registered station") from None
    except asyncpg.UniqueViolationError:  # same target and start as another (deleted) row
        raise BadTariff("valid_from", "another tariff of this target starts then") from None
    return _row(record)


async def _set(conn: DbConn, tariff_id: UUID, values: Mapping[str, Any]) -> TariffRow:
    if not values:
        return await _locked(conn, tariff_id)
    names = [k for k in values if k in _WRITABLE]
    assigns = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    try:
        record = await conn.fetchrow(
            f"UPDATE tariffs SET {assigns} WHERE id = $1 RETURNING *",  # noqa: S608 -- fixed column names
            tariff_id, *(values[n] for n in names))
    except asyncpg.UniqueViolationError:
        raise BadTariff("valid_from", "another tariff of this target starts then") from None
    except asyncpg.CheckViolationError:
        raise BadTariff("valid_to", "must be after validFrom") from None
    return _row(record)
