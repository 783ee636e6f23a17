"""Repricing: compensations that failed on a price gap are settled once their hours have prices.

A discharge with export in an hour that has no grid price leaves its compensation `failed`
(settle.Settlement). Every node runs `Repricing.run_once` every `v2g.repricing_interval_s`:
it takes at most `batch` failed compensations whose missing hours now all have a stored
price in their station's submarket (after `sigec prices import`, a CSV or CCEE refresh) and
settles each through `Settlement.reprice`, so the payout is the one journal entry per session
whatever the number of nodes and rounds. `settle_now` does the same for one session (the
admin route), and says which hours still lack a price.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
import structlog

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.adapters.pg_grid_prices import TO_REGION
from sigec_actors.ports import DbPool
from sigec_actors.v2g.pricing import Submarket
from sigec_actors.v2g_session.errors import SessionNotCompleted, UnknownSession
from sigec_actors.v2g_session.ports import CompensationOutcome, SessionStore, V2GQueries
from sigec_actors.v2g_session.settle import Settlement
from sigec_actors.v2g_session.state import Status

log = structlog.get_logger("v2g")
BATCH = 100
"""Failed compensations settled per node and round (the next round takes the rest)."""
EXTRAS_KEY = "v2g_repricing"

# failed rows none of whose missing hours lacks a stored price in the station's submarket
# (the location's, else the default region $1); the least recently touched first
_REPRICEABLE = (
    "SELECT c.session_id FROM v2g_compensations c JOIN v2g_sessions s ON s.id = c.session_id"
    " JOIN charge_points cp ON cp.id = s.charge_point_id"
    " LEFT JOIN locations l ON l.id = cp.location_id"
    " WHERE c.status = 'failed' AND NOT EXISTS ("
    " SELECT 1 FROM jsonb_array_elements_text(c.missing_hours) AS m(hour)"
    " WHERE NOT EXISTS (SELECT 1 FROM v2g_grid_prices g WHERE g.starts_at = m.hour::timestamptz"
    " AND g.region = coalesce(CASE l.submarket WHEN 'SE' THEN 'SE_CO' ELSE l.submarket END,"
    " $1)))"
    " ORDER BY c.updated_at LIMIT $2")


class RepriceCounts(msgspec.Struct, frozen=True):
    """One round: compensations settled now, and those found still missing a price."""

    settled: int = 0
    still_missing: int = 0


class PgRepricingQueries:
    """The failed compensations that stored prices may now settle (a plain read)."""

    def __init__(self, pool: DbPool, default_submarket: Submarket) -> None:
        self._pool = pool
        self._default_region = TO_REGION[default_submarket]

    async def repriceable(self, limit: int) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_REPRICEABLE, self._default_region, limit)
        return [r["session_id"] for r in rows]


class Repricing:
    """The repricing job of one node and the settle-now of the admin route."""

    def __init__(self, queries: PgRepricingQueries, store: SessionStore,
                 settlement: Settlement, views: V2GQueries, *, batch: int = BATCH) -> None:
        self._queries = queries
        self._store = store
        self._settlement = settlement
        self._views = views
        self._batch = batch

    async def run_once(self) -> RepriceCounts:
        settled = missing = 0
        for session_id in await self._queries.repriceable(self._batch):
            state = await self._store.load(session_id)
            if state is None:
                continue
            try:
                outcome = await self._settlement.reprice(state)
            except STORAGE_FAILURES as exc:  # the next round tries it again
                log.error("v2g.reprice_failed", session=str(session_id), error=repr(exc))
                continue
            if outcome.status == "failed":
                missing += 1
            else:
                settled += 1
        counts = RepriceCounts(settled, missing)
        if counts != RepriceCounts():
            log.info("v2g.repriced", settled=settled, still_missing=missing)
        return counts

    async def settle_now(self, session_id: UUID) -> CompensationOutcome:
        """Settle one completed session now (its failed compensation repriced).
        UnknownSession; SessionNotCompleted while it runs or when it failed to start."""
        state = await self._store.load(session_id)
        if state is None:
            raise UnknownSession(str(session_id))
        if state.status is not Status.COMPLETED:
            raise SessionNotCompleted(str(session_id), state.status.value)
        return await self._settlement.reprice(state)

    async def session_row(self, session_id: UUID) -> dict[str, Any] | None:
        """The session with its compensation, as the V2G routes show it."""
        return await self._views.session_row(session_id)
