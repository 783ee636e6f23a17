"""PostgreSQL rows of V2G compensations (v2g_compensations) and a station's submarket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import to_record, transaction, write_events
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import DbPool
from sigec_actors.v2g.pricing import Compensation, Submarket
from sigec_actors.v2g_session.state import V2GState

_UPSERT = (
    "INSERT INTO v2g_compensations (session_id, user_id, energy_discharged_wh,"
    " avg_grid_price_centavos_mwh, operator_margin_bp, gross_amount_centavos,"
    " net_amount_centavos, margin_centavos, policy_version, hours, missing_hours, status,"
    " failure_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    " ON CONFLICT (session_id) DO NOTHING RETURNING id")
_REPRICE = (
    "UPDATE v2g_compensations SET status = 'calculated', energy_discharged_wh = $2,"
    " avg_grid_price_centavos_mwh = $3, operator_margin_bp = $4, gross_amount_centavos = $5,"
    " net_amount_centavos = $6, margin_centavos = $7, policy_version = $8, hours = $9,"
    " missing_hours = '[]'::jsonb, failure_reason = NULL"
    " WHERE session_id = $1 AND status = 'failed'")
_DB_SUBMARKET = {"SE_CO": Submarket.SE, "SE": Submarket.SE, "S": Submarket.S,
                 "NE": Submarket.NE, "N": Submarket.N}


class CompensationRow(msgspec.Struct, frozen=True, kw_only=True):
    session_id: UUID
    user_id: UUID
    status: str
    gross_amount_centavos: int
    margin_centavos: int
    net_amount_centavos: int
    energy_discharged_wh: int
    journal_entry_id: UUID | None = None
    failure_reason: str | None = None


class PgCompensations:
    """One row per session (unique session_id): calculated -> paid, or failed."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def get(self, session_id: UUID) -> CompensationRow | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM v2g_compensations WHERE session_id = $1", session_id)
        return None if row is None else to_record(row, CompensationRow)

    async def calculated(self, state: V2GState, comp: Compensation, margin_bp: int,
                         events: Sequence[OutboxMessage]) -> bool:
        """Store the computed compensation once (False: a row existed, nothing written)."""
        average, hours = _average_and_hours(comp)
        return await self._insert(
            state, comp.export_wh, average, margin_bp, comp.gross_centavos,
            comp.net_centavos, comp.margin_centavos, comp.policy_version, hours, [],
            "calculated", None, events)

    async def failed(self, state: V2GState, missing: Sequence[datetime], reason: str,
                     events: Sequence[OutboxMessage]) -> bool:
        """Store a compensation that could not be computed (a price gap) once."""
        return await self._insert(state, state.exported_wh, 0, 0, 0, 0, 0, None, [],
                                  [m.isoformat() for m in missing], "failed", reason, events)

    async def repriced(self, state: V2GState, comp: Compensation, margin_bp: int,
                       events: Sequence[OutboxMessage], *, resolve_alert: str) -> bool:
        """Move a `failed` row to `calculated` with `comp`, write `events` and resolve the
        unresolved alert keyed `resolve_alert`, in one DB transaction; False, nothing
        written, when the row is not `failed` any more (another node moved it first)."""
        average, hours = _average_and_hours(comp)
        async with transaction(self._pool) as conn:
            done = await conn.execute(
                _REPRICE, state.session_id, comp.export_wh, average, margin_bp,
                comp.gross_centavos, comp.net_centavos, comp.margin_centavos,
                comp.policy_version, hours)
            if done != "UPDATE 1":
                return False
            await write_events(conn, events)
            await conn.execute("UPDATE alerts SET resolved_at = now() WHERE dedupe_key = $1"
                               " AND resolved_at IS NULL", resolve_alert)
        return True

    async def still_missing(self, session_id: UUID, missing: Sequence[datetime]) -> None:
        """A `failed` row's hours still without a price (its updated_at moves on, so the
        repricing job's next rounds look at other rows first)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE v2g_compensations SET missing_hours = $2 WHERE session_id = $1"
                " AND status = 'failed'", session_id, [m.isoformat() for m in missing])

    async def paid(self, session_id: UUID, entry_id: UUID | None, now: datetime) -> None:
        """Mark it paid by `entry_id` (None: nothing to pay); a no-op when it is already."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE v2g_compensations SET status = 'paid', journal_entry_id = $2,"
                " paid_at = $3 WHERE session_id = $1 AND status = 'calculated'",
                session_id, entry_id, now)

    async def submarket(self, station_id: str) -> Submarket | None:
        """The submarket of the station's location (locations.submarket), None if unset."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT l.submarket FROM charge_points c JOIN locations l"
                " ON l.id = c.location_id WHERE c.id = $1", station_id)
        return None if value is None else _DB_SUBMARKET.get(str(value))

    async def _insert(self, state: V2GState, wh: int, average: int, margin_bp: int,
                      gross: int, net: int, margin: int, version: str | None,
                      hours: list[object], missing: list[str], status: str,
                      reason: str | None, events: Sequence[OutboxMessage]) -> bool:
        async with transaction(self._pool) as conn:
            inserted = await conn.fetchval(
                _UPSERT, state.session_id, state.user_id, wh, average, margin_bp, gross, net,
                margin, version, hours, missing, status, reason)
            if inserted is None:
                return False
            await write_events(conn, events)
        return True


def _average_and_hours(comp: Compensation) -> tuple[int, list[object]]:
    """The average price paid (centavos/MWh, floored) and the per-hour breakdown as JSON."""
    average = comp.gross_centavos * 1_000_000 // comp.export_wh if comp.export_wh else 0
    return average, [msgspec.to_builtins(h) for h in comp.hours]
