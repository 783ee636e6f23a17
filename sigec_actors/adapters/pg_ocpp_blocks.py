"""PostgreSQL BlocksStore (migration 0019): local lists, display messages, meter values."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from sigec_actors.adapters.pg import transaction
from sigec_actors.ocpp_blocks.records import (
    DisplayMessage,
    DisplayQuery,
    ListToken,
    LocalList,
    MeterSample,
)
from sigec_actors.ports import DbPool

R = TypeVar("R", bound=msgspec.Struct)

_LOCK = "SELECT pg_advisory_lock(hashtext('sigec.local_list'), hashtext($1))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('sigec.local_list'), hashtext($1))"
_SAVE_LIST = (
    "INSERT INTO station_local_lists AS l (charge_point_id, version, size, update_type, entries,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (charge_point_id) DO UPDATE SET"
    " version = excluded.version, size = excluded.size, update_type = excluded.update_type,"
    " entries = excluded.entries, updated_at = excluded.updated_at")
_TOKENS = ("SELECT id_token, type, status, expires_at FROM id_tokens"
           " ORDER BY created_at, id LIMIT $1")
_ADD_SAMPLES = (
    "INSERT INTO station_meter_values (charge_point_id, evse_id, sampled_at, measurand, phase,"
    " location, context, value, unit, multiplier)"
    " SELECT $1, * FROM unnest($2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],"
    " $7::text[], $8::float8[], $9::text[], $10::int[])")
_SAMPLES = (
    "SELECT evse_id, sampled_at, measurand, phase, location, context, value, unit, multiplier"
    " FROM station_meter_values WHERE charge_point_id = $1 AND sampled_at >= $2"
    " AND sampled_at < $3 AND ($4::text IS NULL OR measurand = $4)"
    " ORDER BY sampled_at, id LIMIT $5")
_PUT_MESSAGE = (
    "INSERT INTO station_display_messages (charge_point_id, message_id, source, request_id,"
    " message, updated_at) VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))"
    " ON CONFLICT (charge_point_id, message_id) DO UPDATE SET source = excluded.source,"
    " request_id = excluded.request_id, message = excluded.message,"
    " updated_at = excluded.updated_at")
_QUERY_SENT = (
    "INSERT INTO display_message_queries (charge_point_id, request_id, status)"
    " VALUES ($1, $2, $3) ON CONFLICT (charge_point_id, request_id)"
    " DO UPDATE SET status = excluded.status")
_QUERY_PART = (
    "INSERT INTO display_message_queries (charge_point_id, request_id, status, parts, complete)"
    " VALUES ($1, $2, 'Accepted', 1, $3) ON CONFLICT (charge_point_id, request_id) DO UPDATE"
    " SET parts = display_message_queries.parts + 1,"
    " complete = display_message_queries.complete OR excluded.complete")
_PRUNE = ("DELETE FROM station_display_messages WHERE charge_point_id = $1"
          " AND request_id IS DISTINCT FROM $2 AND EXISTS (SELECT 1 FROM display_message_queries"
          " WHERE charge_point_id = $1 AND request_id = $2)")


def _load(row: Any, kind: type[R]) -> R:
    """A record from a row whose columns are its snake_case field names (records are camel)."""
    names = dict(zip(kind.__struct_fields__, kind.__struct_encode_fields__, strict=True))
    return msgspec.convert({names.get(k, k): v for k, v in dict(row).items()}, kind,
                           strict=False)


class PgBlocks:
    """The BlocksStore port on the tables of migration 0019 (and id_tokens for lists)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def list_lock(self, station_id: str) -> AsyncIterator[None]:
        """A session advisory lock per station, held on its own connection meanwhile."""
        async with self._pool.acquire() as conn:
            await conn.execute(_LOCK, station_id)
            try:
                yield
            finally:
                await conn.execute(_UNLOCK, station_id)

    async def local_list(self, station_id: str) -> LocalList | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT version, size, update_type, entries, updated_at"
                " FROM station_local_lists WHERE charge_point_id = $1", station_id)
        return None if row is None else _load(row, LocalList)

    async def save_local_list(self, station_id: str, stored: LocalList) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_SAVE_LIST, station_id, stored.version, stored.size,
                               stored.update_type, [list(e) for e in stored.entries],
                               stored.updated_at)

    async def list_tokens(self, limit: int) -> list[ListToken]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_TOKENS, limit)
        return [_load(r, ListToken) for r in rows]

    async def add_samples(self, station_id: str, samples: Sequence[MeterSample]) -> None:
        columns = ([s.evse_id for s in samples], [s.sampled_at for s in samples],
                   [s.measurand for s in samples], [s.phase for s in samples],
                   [s.location for s in samples], [s.context for s in samples],
                   [s.value for s in samples], [s.unit for s in samples],
                   [s.multiplier for s in samples])
        async with self._pool.acquire() as conn:
            await conn.execute(_ADD_SAMPLES, station_id, *columns)

    async def samples(self, station_id: str, since: datetime, until: datetime,
                      measurand: str | None, limit: int) -> list[MeterSample]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SAMPLES, station_id, since, until, measurand, limit)
        return [_load(r, MeterSample) for r in rows]

    async def put_message(self, station_id: str, message: DisplayMessage) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_PUT_MESSAGE, station_id, message.id, message.source,
                               message.request_id, message.message, message.updated_at)

    async def delete_message(self, station_id: str, message_id: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM station_display_messages"
                               " WHERE charge_point_id = $1 AND message_id = $2",
                               station_id, message_id)

    async def messages(self, station_id: str) -> list[DisplayMessage]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT message_id AS id, source, message, request_id, updated_at"
                " FROM station_display_messages WHERE charge_point_id = $1"
                " ORDER BY message_id", station_id)
        return [_load(r, DisplayMessage) for r in rows]

    async def query_sent(self, station_id: str, request_id: int, status: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_QUERY_SENT, station_id, request_id, status)

    async def query(self, station_id: str, request_id: int) -> DisplayQuery | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT request_id, status, parts, complete FROM display_message_queries"
                " WHERE charge_point_id = $1 AND request_id = $2", station_id, request_id)
        return None if row is None else _load(row, DisplayQuery)

    async def forget_query(self, station_id: str, request_id: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM display_message_queries"
                               " WHERE charge_point_id = $1 AND request_id = $2",
                               station_id, request_id)

    async def report(self, station_id: str, request_id: int,
                     messages: Sequence[dict[str, Any]], complete: bool) -> None:
        async with transaction(self._pool) as conn:
            for info in messages:
                await conn.execute(_PUT_MESSAGE, station_id, info["id"], "reported",
                                   request_id, info, None)
            if complete:
                await conn.execute(_PRUNE, station_id, request_id)
            await conn.execute(_QUERY_PART, station_id, request_id, complete)

    async def prune(self, samples_before: datetime, queries_before: datetime) -> int:
        async with self._pool.acquire() as conn:
            samples = await conn.execute(
                "DELETE FROM station_meter_values WHERE sampled_at < $1", samples_before)
            queries = await conn.execute(
                "DELETE FROM display_message_queries WHERE created_at < $1", queries_before)
        return int(samples.split()[-1]) + int(queries.split()[-1])

    async def forget_messages(self, station_id: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM station_display_messages WHERE charge_point_id = $1",
                               station_id)
