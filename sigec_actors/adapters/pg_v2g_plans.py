"""PostgreSQL autoDischarge plans (v2g_plans): store, list, cancel, and the job's safe claim."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import to_record, transaction
from sigec_actors.ports import DbConn, DbPool
from sigec_actors.v2g.plans import LIVE, PlanStep, Run, StoredPlan, cancel, step

_LIVE = [s.value for s in LIVE]
_COLUMNS = (
    "id, user_id, charge_point_id AS station_id, evse_id, transaction_id, windows, min_soc,"
    " departure_at, status, next_run, next_start_at, session_ids, last_error, cancel_reason,"
    " created_at")
_INSERT = (
    "INSERT INTO v2g_plans (id, user_id, charge_point_id, evse_id, transaction_id, windows,"  # noqa: S608
    " min_soc, departure_at, status, next_run, next_start_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12, now()))"
    " RETURNING " + _COLUMNS)
_WRITE_STEP = (
    "UPDATE v2g_plans SET status = $2, next_run = $3, next_start_at = $4,"  # noqa: S608
    " cancel_reason = coalesce($5, cancel_reason) WHERE id = $1 RETURNING " + _COLUMNS)
_DUE = (
    "SELECT " + ", ".join("p." + c.strip() for c in _COLUMNS.split(",")) + ","  # noqa: S608
    " (t.status = 'Active') AS tx_active, coalesce(pr.auto_discharge, false) AS auto_on"
    " FROM v2g_plans p JOIN transactions t ON t.id = p.transaction_id"
    " LEFT JOIN v2g_preferences pr ON pr.user_id = p.user_id"
    " WHERE p.status = ANY($1::text[]) AND p.next_start_at <= $2"
    " ORDER BY p.next_start_at LIMIT $3 FOR UPDATE OF p SKIP LOCKED")
_SELECT = "SELECT " + _COLUMNS + " FROM v2g_plans"  # noqa: S608 -- constant
_SWEEP = (
    "UPDATE v2g_plans p SET status = 'cancelled', next_start_at = NULL,"
    " cancel_reason = CASE WHEN t.status <> 'Active' THEN 'transaction_ended'"
    " ELSE 'auto_discharge_off' END"
    " FROM transactions t WHERE t.id = p.transaction_id AND p.status = ANY($1::text[])"
    " AND (t.status <> 'Active' OR NOT coalesce((SELECT pr.auto_discharge FROM v2g_preferences"
    " pr WHERE pr.user_id = p.user_id), false))")


def _plan(row: Mapping[str, Any]) -> StoredPlan:
    return to_record({k: row[k] for k in StoredPlan.__struct_fields__}, StoredPlan)


class PgV2GPlans:
    """The PlanStore on PostgreSQL, plus what the plan job needs (sweep, claim, outcomes)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, plan: StoredPlan) -> StoredPlan:
        async with transaction(self._pool) as conn:
            await conn.execute(
                "UPDATE v2g_plans SET status = 'cancelled', next_start_at = NULL,"
                " cancel_reason = 'replaced' WHERE transaction_id = $1"
                " AND status = ANY($2::text[])", plan.transaction_id, _LIVE)
            row = await conn.fetchrow(
                _INSERT, plan.id, plan.user_id, plan.station_id, plan.evse_id,
                plan.transaction_id, msgspec.to_builtins(plan.windows), plan.min_soc,
                plan.departure_at, plan.status.value, plan.next_run, plan.next_start_at,
                plan.created_at)
        return _plan(row)

    async def get(self, plan_id: UUID) -> StoredPlan | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_SELECT + " WHERE id = $1", plan_id)
        return None if row is None else _plan(row)

    async def for_user(self, user_id: UUID) -> list[StoredPlan]:
        """The user's plans, newest first (the last 50)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _SELECT + " WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 50", user_id)
        return [_plan(r) for r in rows]

    async def cancel(self, plan_id: UUID, user_id: UUID | None, reason: str
                     ) -> StoredPlan | None:
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(
                _SELECT + " WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) FOR UPDATE",
                plan_id, user_id)
            if row is None:
                return None
            plan = _plan(row)
            if plan.status not in LIVE:
                return plan
            return await _write(conn, plan.id, cancel(plan, reason))

    async def sweep(self) -> int:
        """Cancel the live plans whose transaction ended or whose user turned autoDischarge
        off; how many."""
        async with self._pool.acquire() as conn:
            done = await conn.execute(_SWEEP, _LIVE)
        return int(done.rsplit(" ", 1)[-1])

    async def claim_due(self, now: datetime, limit: int = 100) -> list[tuple[StoredPlan, Run]]:
        """Step every due live plan in one transaction (rows another runner holds are skipped,
        so two runners never take the same run) and return the runs to start now."""
        starts: list[tuple[StoredPlan, Run]] = []
        async with transaction(self._pool) as conn:
            for row in await conn.fetch(_DUE, _LIVE, now, limit):
                plan = _plan(row)
                change = step(plan, now, transaction_active=bool(row["tx_active"]),
                              auto_discharge=bool(row["auto_on"]))
                written = await _write(conn, plan.id, change)
                if change.start is not None:
                    starts.append((written, change.start))
        return starts

    async def started(self, plan_id: UUID, session_id: UUID) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE v2g_plans SET session_ids = array_append(session_ids, $2),"
                " last_error = NULL WHERE id = $1", plan_id, session_id)

    async def start_failed(self, plan_id: UUID, error: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("UPDATE v2g_plans SET last_error = $2 WHERE id = $1",
                               plan_id, error[:500])


async def _write(conn: DbConn, plan_id: UUID, change: PlanStep) -> StoredPlan:
    row = await conn.fetchrow(_WRITE_STEP, plan_id, change.status.value, change.next_run,
                              change.next_start_at, change.cancel_reason)
    return _plan(row)
