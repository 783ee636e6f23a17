"""PostgreSQL storage of firmware jobs (firmware_updates rows) and PublishFirmware reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import transaction, write_events
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.firmware.ports import Publication
from sigec_actors.firmware.state import TERMINAL, HistoryEntry, JobState, JobStatus
from sigec_actors.ports import DbPool

FINISHED = [s.value for s in TERMINAL]
_INSERT = (
    "INSERT INTO firmware_updates (id, charge_point_id, request_id, firmware_url, version,"
    " signature, signing_certificate, retrieve_at, install_at, max_retries, retry_interval_s,"
    " campaign_id, requested_by, created_at, owner_node, lease_until,"
    " status, station_status, attempts, history, error_message, deadline, next_attempt_at,"
    " completed_at, retries)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
    " $17, $18, $19, $20, $21, $22, $23, $24, $25)")
_UPDATE = (
    "UPDATE firmware_updates SET status = $4, station_status = $5, attempts = $6,"
    " history = $7, error_message = $8, deadline = $9, next_attempt_at = $10,"
    " completed_at = $11, retries = $12"
    " WHERE id = $1 AND status = $2 AND owner_node = $3")
_CLAIM = (
    "UPDATE firmware_updates SET owner_node = $1, lease_until = $2 WHERE id IN ("
    " SELECT id FROM firmware_updates WHERE status <> ALL($5::text[]) AND (owner_node = $1"
    "  OR owner_node IS NULL OR lease_until < $3) ORDER BY owner_node = $1 DESC, created_at"
    "  LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *")
_CANCEL = (
    "UPDATE firmware_updates SET status = 'Cancelled', history = $2, error_message = $3,"
    " completed_at = $4, deadline = NULL, next_attempt_at = NULL"
    " WHERE id = $1 AND status <> ALL($5::text[])")
_PUBLICATION = (
    "INSERT INTO firmware_publications (charge_point_id, request_id, status, locations)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (charge_point_id, request_id) DO UPDATE"
    " SET status = excluded.status, locations = excluded.locations, updated_at = now()")
SELECT = "SELECT * FROM firmware_updates"


def _history(state: JobState) -> list[Any]:
    return list(msgspec.to_builtins(state.history))


def _mutable(s: JobState) -> tuple[Any, ...]:
    """The columns a step may change (status .. retries), in statement order."""
    return (s.status.value, s.station_status, s.attempts, _history(s), s.error, s.deadline,
            s.next_attempt_at, s.completed_at, max(s.attempts - 1, 0))


class PgJobStore:
    """JobStore on PostgreSQL: every step is a compare-and-set on (status, owner)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def next_request_id(self) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval("SELECT nextval('firmware_request_ids')"))

    async def create(self, state: JobState, owner: str, lease_until: datetime,
                     events: Sequence[OutboxMessage] = ()) -> None:
        s = state
        async with transaction(self._pool) as conn:
            await conn.execute(
                _INSERT, s.job_id, s.station_id, s.request_id, s.location, s.version,
                s.signature, s.signing_certificate, s.retrieve_at, s.install_at, s.max_retries,
                s.retry_interval_s, s.campaign_id, s.requested_by, s.created_at, owner,
                lease_until, *_mutable(s))
            await write_events(conn, events)

    async def load(self, job_id: UUID) -> JobState | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(SELECT + " WHERE id = $1", job_id)
        return None if row is None else state_of(row)

    async def save(self, expected: JobStatus, state: JobState, owner: str,
                   events: Sequence[OutboxMessage] = ()) -> bool:
        async with transaction(self._pool) as conn:
            done = await conn.execute(_UPDATE, state.job_id, expected.value, owner,
                                      *_mutable(state))
            if done != "UPDATE 1":
                return False
            await write_events(conn, events)
        return True

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    limit: int) -> list[JobState]:
        async with transaction(self._pool) as conn:
            rows = await conn.fetch(_CLAIM, owner, lease_until, now, limit, FINISHED)
        return [state_of(r) for r in rows]

    async def cancel(self, job_id: UUID, state: JobState,
                     events: Sequence[OutboxMessage]) -> bool:
        async with transaction(self._pool) as conn:
            done = await conn.execute(_CANCEL, job_id, _history(state), state.error,
                                      state.completed_at, FINISHED)
            if done != "UPDATE 1":
                return False
            await write_events(conn, events)
        return True

    async def latest_for_station(self, station_id: str) -> JobState | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                SELECT + " WHERE charge_point_id = $1 ORDER BY created_at DESC LIMIT 1",
                station_id)
        return None if row is None else state_of(row)

    async def latest_live(self, station_id: str) -> JobState | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                SELECT + " WHERE charge_point_id = $1 AND status <> ALL($2::text[])"
                " ORDER BY created_at DESC LIMIT 1", station_id, FINISHED)
        return None if row is None else state_of(row)

    async def record_publication(self, station_id: str, request_id: int, status: str,
                                 locations: Sequence[str]) -> None:
        """Store a PublishFirmwareStatusNotification (the latest per request)."""
        async with self._pool.acquire() as conn:
            await conn.execute(_PUBLICATION, station_id, request_id, status, list(locations))

    async def publications(self, station_id: str) -> list[Publication]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT request_id, status, locations, updated_at FROM firmware_publications"
                " WHERE charge_point_id = $1 ORDER BY updated_at DESC LIMIT 50", station_id)
        return [Publication(r["request_id"], r["status"], tuple(r["locations"]),
                            r["updated_at"]) for r in rows]


def state_of(row: Mapping[str, Any]) -> JobState:
    """A stored row as the core's state."""
    history = msgspec.convert(row["history"], tuple[HistoryEntry, ...])
    return JobState(
        job_id=row["id"], station_id=row["charge_point_id"], request_id=row["request_id"],
        location=row["firmware_url"], version=row["version"], retrieve_at=row["retrieve_at"],
        install_at=row["install_at"], signing_certificate=row["signing_certificate"],
        signature=row["signature"], max_retries=row["max_retries"],
        retry_interval_s=row["retry_interval_s"], status=JobStatus(row["status"]),
        station_status=row["station_status"], attempts=row["attempts"], history=history,
        error=row["error_message"], deadline=row["deadline"],
        next_attempt_at=row["next_attempt_at"], campaign_id=row["campaign_id"],
        requested_by=row["requested_by"], created_at=row["created_at"],
        completed_at=row["completed_at"])
