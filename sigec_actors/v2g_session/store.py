"""PostgreSQL storage of V2G sessions: v2g_sessions rows and their meter samples (v2g_events)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import UniqueViolation, constraint_name, transaction, write_events
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import DbPool
from sigec_actors.v2g_session.errors import SessionAlreadyLive
from sigec_actors.v2g_session.messages import MeterSample
from sigec_actors.v2g_session.state import SessionPolicy, Status, V2GState

TO_DB = {Status.STARTING: "Requested", Status.ACTIVE: "Active", Status.STOPPING: "Stopping",
         Status.COMPLETED: "Completed", Status.FAILED: "Failed"}
FROM_DB = {v: k for k, v in TO_DB.items()} | {"Cancelled": Status.FAILED}
LIVE_DB = ("Requested", "Active", "Stopping")

_INSERT = (
    "INSERT INTO v2g_sessions (id, transaction_id, station_transaction_id, charge_point_id,"
    " evse_id, user_id, mode, profile_id, requested_power_w, min_battery_soc, max_energy_wh,"
    " until, min_price_centavos_mwh, status)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'Requested')")
_UPDATE = (
    "UPDATE v2g_sessions SET status = $3, start_soc = $4, current_soc = $5,"
    " energy_transferred_wh = $6, actual_power_w = $7, first_register_wh = $8,"
    " first_sample_at = $9, last_sample_at = $10, offline_since = $11, stop_reason = $12,"
    " started_at = $13, ended_at = $14 WHERE id = $1 AND status = $2")
_SAMPLES = (
    "INSERT INTO v2g_events (session_id, charge_point_id, event_type, direction, power_w,"
    " energy_wh, details, occurred_at)"
    " SELECT $1, $2, 'meter', 'discharge', p, e, jsonb_build_object('soc', s), t"
    " FROM unnest($3::timestamptz[], $4::bigint[], $5::bigint[], $6::int[]) AS u(t, e, p, s)"
    " ON CONFLICT (session_id, occurred_at) WHERE event_type = 'meter' DO NOTHING")
SELECT = "SELECT * FROM v2g_sessions"


class PgSessionStore:
    """SessionStore on PostgreSQL; the live-session-per-EVSE rule is a unique index (0003)."""

    def __init__(self, pool: DbPool, policy: SessionPolicy | None = None) -> None:
        self._pool = pool
        self._policy = policy or SessionPolicy()

    async def create(self, state: V2GState, events: Sequence[OutboxMessage] = ()) -> None:
        s = state
        try:
            async with transaction(self._pool) as conn:
                await conn.execute(
                    _INSERT, s.session_id, s.transaction_id, s.station_transaction_id,
                    s.station_id, s.evse_id, s.user_id, s.mode, s.profile_id, s.max_discharge_w,
                    s.min_soc, s.max_energy_wh, s.until, s.min_price_centavos_mwh)
                await write_events(conn, events)
        except UniqueViolation as exc:
            if constraint_name(exc) == "v2g_sessions_one_live_per_evse":
                raise SessionAlreadyLive(s.station_id, s.evse_id) from exc
            raise

    async def load(self, session_id: UUID) -> V2GState | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(SELECT + " WHERE id = $1", session_id)
        return None if row is None else state_of(row, self._policy)

    async def live_for_station(self, station_id: str) -> list[V2GState]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                SELECT + " WHERE charge_point_id = $1 AND status = ANY($2::text[])",
                station_id, list(LIVE_DB))
        return [state_of(r, self._policy) for r in rows]

    async def save(self, expected: Status, state: V2GState, samples: Sequence[MeterSample] = (),
                   events: Sequence[OutboxMessage] = ()) -> bool:
        s = state
        async with transaction(self._pool) as conn:
            done = await conn.execute(
                _UPDATE, s.session_id, TO_DB[expected], TO_DB[s.status], s.start_soc,
                s.current_soc, s.exported_wh, s.power_w, s.first_register_wh, s.first_sample_at,
                s.last_sample_at, s.offline_since, s.stop_reason, s.started_at, s.ended_at)
            if done != "UPDATE 1":
                return False
            if samples:
                await conn.execute(
                    _SAMPLES, s.session_id, s.station_id, [m.at for m in samples],
                    [m.export_wh for m in samples], [m.power_w for m in samples],
                    [m.soc for m in samples])
            await write_events(conn, events)
        return True

    async def samples(self, session_id: UUID) -> list[tuple[datetime, int]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT occurred_at, energy_wh FROM v2g_events WHERE session_id = $1"
                " AND event_type = 'meter' AND energy_wh IS NOT NULL ORDER BY occurred_at",
                session_id)
        return [(r["occurred_at"], int(r["energy_wh"])) for r in rows]


def state_of(row: Mapping[str, Any], policy: SessionPolicy) -> V2GState:
    """A stored row as the core's state."""
    return V2GState(
        session_id=row["id"], user_id=row["user_id"], station_id=row["charge_point_id"],
        evse_id=row["evse_id"] or 1, transaction_id=row["transaction_id"],
        station_transaction_id=row["station_transaction_id"] or "", mode=row["mode"],
        profile_id=row["profile_id"] or 0, max_discharge_w=row["requested_power_w"] or 0,
        status=FROM_DB[row["status"]], min_soc=row["min_battery_soc"] or 0,
        max_energy_wh=row["max_energy_wh"], until=row["until"],
        min_price_centavos_mwh=row["min_price_centavos_mwh"], start_soc=row["start_soc"],
        current_soc=row["current_soc"], first_register_wh=row["first_register_wh"],
        first_sample_at=row["first_sample_at"], last_sample_at=row["last_sample_at"],
        exported_wh=row["energy_transferred_wh"], power_w=row["actual_power_w"],
        offline_since=row["offline_since"], stop_reason=row["stop_reason"],
        started_at=row["started_at"], ended_at=row["ended_at"], policy=policy)
