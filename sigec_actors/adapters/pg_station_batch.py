"""Bulk station reads and writes on PostgreSQL: one statement for many stations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from sigec_actors.adapters.pg import ForeignKeyViolation, IntegrityViolation, to_record
from sigec_actors.charge_point.store import (
    BootWrite,
    OnlineWrite,
    StationSnapshot,
    StationWrite,
    StatusWrite,
)
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.records import Connector, Station, StationCredentials
from sigec_actors.ports import DbPool

_SNAPSHOTS = """
SELECT cp.*, coalesce(sc.security_profile, 0) AS security_profile,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'station_id', c.charge_point_id, 'evse_id', c.evse_id,
                    'connector_id', c.connector_id, 'status', c.status,
                    'status_changed_at', c.status_changed_at, 'type', c.type,
                    'max_power_w', c.max_power_w) ORDER BY c.evse_id, c.connector_id)
                 FROM connectors c WHERE c.charge_point_id = cp.id), '[]') AS connectors_json
FROM charge_points cp LEFT JOIN station_credentials sc ON sc.charge_point_id = cp.id
WHERE cp.id = ANY($1::text[])
"""

# One statement, so one implicit transaction: every change and the outbox rows of the writes
# that found their station commit together. Each station appears at most once per batch, so
# no row is modified twice by the statement.
_WRITE = """
WITH boot AS (
    UPDATE charge_points cp SET vendor = u.vendor, model = u.model, serial_number = u.serial,
           firmware_version = u.firmware, iccid = u.iccid, imsi = u.imsi,
           boot_reason = u.reason, last_boot_at = u.at, last_seen = u.at, online = true
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::timestamptz[])
         AS u(id, vendor, model, serial, firmware, iccid, imsi, reason, at)
    WHERE cp.id = u.id
    RETURNING cp.id
), presence AS (
    UPDATE charge_points cp SET online = u.online, last_seen = u.at
    FROM unnest($10::text[], $11::boolean[], $12::timestamptz[]) AS u(id, online, at)
    WHERE cp.id = u.id
    RETURNING cp.id
), status AS (
    INSERT INTO connectors AS c (charge_point_id, evse_id, connector_id, status,
                                 status_changed_at)
    SELECT u.id, u.evse, u.conn, u.status, u.at
    FROM unnest($13::text[], $14::integer[], $15::integer[], $16::text[],
                $17::timestamptz[]) AS u(id, evse, conn, status, at)
    JOIN charge_points cp ON cp.id = u.id
    ON CONFLICT (charge_point_id, evse_id, connector_id) DO UPDATE
    SET status = EXCLUDED.status, status_changed_at = EXCLUDED.status_changed_at
    RETURNING c.charge_point_id AS id
), done AS (
    SELECT id FROM boot UNION ALL SELECT id FROM presence UNION ALL SELECT id FROM status
), events AS (
    INSERT INTO event_outbox (subject, payload)
    SELECT e.subject, e.payload
    FROM unnest($18::text[], $19::text[], $20::jsonb[]) WITH ORDINALITY
         AS e(id, subject, payload, n)
    WHERE e.id IN (SELECT id FROM done)
    ORDER BY e.n
)
SELECT id FROM done
"""

_TOUCH = """
UPDATE charge_points cp SET last_seen = greatest(cp.last_seen, u.at)
FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE cp.id = u.id
"""



async def snapshots(pool: DbPool, station_ids: Sequence[str]) -> dict[str, StationSnapshot]:
    """Station rows and connectors of every id that exists, in one query."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_SNAPSHOTS, list(station_ids))
    found: dict[str, StationSnapshot] = {}
    for row in rows:
        record = dict(row)
        connectors = msgspec.convert(record.pop("connectors_json"), tuple[Connector, ...],
                                     strict=False)
        found[record["id"]] = StationSnapshot(to_record(record, Station), connectors)
    return found


async def credentials(pool: DbPool, station_ids: Sequence[str]) -> dict[str, StationCredentials]:
    """Credentials of every id that has them, in one query."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT charge_point_id AS station_id, security_profile, password_hash"
            " FROM station_credentials WHERE charge_point_id = ANY($1::text[])",
            list(station_ids))
    return {row["station_id"]: to_record(row, StationCredentials) for row in rows}


async def touch(pool: DbPool, seen: Sequence[tuple[str, datetime]]) -> None:
    """Last-seen times of many stations in one statement (unknown ids are ignored)."""
    if not seen:
        return
    async with pool.acquire() as conn:
        await conn.execute(_TOUCH, [s for s, _ in seen], [at for _, at in seen])


async def write_batch(pool: DbPool, writes: Sequence[StationWrite]) -> list[Exception | None]:
    """Commit every write with its events in one statement; per write None or why not."""
    ids = [w.station_id for w in writes]
    if len(set(ids)) != len(ids):
        raise ValueError("at most one write per station in a batch")
    try:
        done = await _execute(pool, writes)
    except IntegrityViolation as exc:  # one write breaks a constraint: it fails alone
        if len(writes) == 1:
            station_gone = isinstance(exc, ForeignKeyViolation)  # deleted meanwhile
            return [UnknownStation(ids[0]) if station_gone else exc]
        results: list[Exception | None] = []
        for write in writes:  # rare: find the write that breaks the constraint
            results += await write_batch(pool, [write])
        return results
    return [None if w.station_id in done else UnknownStation(w.station_id) for w in writes]


async def _execute(pool: DbPool, writes: Sequence[StationWrite]) -> set[str]:
    boots = [w for w in writes if isinstance(w, BootWrite)]
    presence = [w for w in writes if isinstance(w, OnlineWrite)]
    statuses = [w for w in writes if isinstance(w, StatusWrite)]
    events = [(w.station_id, e.subject, e.payload) for w in writes for e in w.events]
    args: list[Any] = [
        [w.station_id for w in boots], [w.boot.vendor for w in boots],
        [w.boot.model for w in boots], [w.boot.serial_number for w in boots],
        [w.boot.firmware_version for w in boots], [w.boot.iccid for w in boots],
        [w.boot.imsi for w in boots], [w.boot.reason for w in boots], [w.at for w in boots],
        [w.station_id for w in presence], [w.online for w in presence],
        [w.at for w in presence],
        [w.station_id for w in statuses], [w.evse_id for w in statuses],
        [w.connector_id for w in statuses], [w.status.value for w in statuses],
        [w.at for w in statuses],
        [e[0] for e in events], [e[1] for e in events], [e[2] for e in events],
    ]
    async with pool.acquire() as conn:
        rows = await conn.fetch(_WRITE, *args)
    return {row["id"] for row in rows}
