"""The periodic V2G sweep: ends sessions no actor will finish and settles unpaid ones, once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import structlog

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.ports import DbPool
from sigec_actors.v2g_session.effects import Persist
from sigec_actors.v2g_session.messages import Abandoned
from sigec_actors.v2g_session.ports import SessionStore, Settler
from sigec_actors.v2g_session.state import SessionPolicy, Status, StopReason, V2GState, decide
from sigec_actors.v2g_session.store import SELECT, state_of

log = structlog.get_logger("v2g")
BATCH = 200
"""Sessions looked at per kind and round (the next round takes the rest)."""

_STALE_STARTS = SELECT + (
    " WHERE status = 'Requested' AND created_at < $1 ORDER BY created_at LIMIT $2")
_OFFLINE = SELECT + (
    " WHERE status IN ('Active', 'Stopping') AND charge_point_id IN (SELECT id FROM"
    " charge_points WHERE NOT online AND (last_seen IS NULL OR last_seen < $1))"
    " ORDER BY created_at LIMIT $2")
_UNSETTLED = SELECT + (
    " s WHERE s.status = 'Completed' AND s.ended_at < $1 AND NOT EXISTS (SELECT 1 FROM"
    " v2g_compensations c WHERE c.session_id = s.id AND c.status <> 'calculated')"
    " ORDER BY s.ended_at LIMIT $2")


class SweepCounts(msgspec.Struct, frozen=True):
    """What one round did: starts failed, offline sessions ended, sessions settled."""

    start_timeouts: int = 0
    offline_ended: int = 0
    settled: int = 0


class PgSweepQueries:
    """The sessions the sweep looks at (plain reads: each change is a compare-and-set)."""

    def __init__(self, pool: DbPool, policy: SessionPolicy) -> None:
        self._pool = pool
        self._policy = policy

    async def stale_starts(self, created_before: datetime) -> list[V2GState]:
        """`starting` sessions stored before `created_before` (their start never finished)."""
        return await self._fetch(_STALE_STARTS, created_before)

    async def offline(self, seen_before: datetime) -> list[V2GState]:
        """Live sessions whose station is offline and was last seen before `seen_before`."""
        return await self._fetch(_OFFLINE, seen_before)

    async def unsettled(self, ended_before: datetime) -> list[V2GState]:
        """Completed sessions ended before `ended_before` whose payout is not done."""
        return await self._fetch(_UNSETTLED, ended_before)

    async def _fetch(self, sql: str, cutoff: datetime) -> list[V2GState]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(sql, cutoff, BATCH)
        return [state_of(r, self._policy) for r in rows]


class SessionSweep:
    """One round on every node, safe when several run at once.

    (a) `starting` sessions older than `start_timeout_s` fail (`start_timeout`): their start
    request died between storing the row and the station's answer, and the row would block
    the EVSE forever. (b) live sessions whose station has been offline longer than the offline
    grace, not running on this node, complete (`station_offline`) and are settled from their
    stored samples: their node went away and the station never came back to resume them.
    (c) completed sessions whose payout never finished (a crash, storage down) are settled.
    Each change is the store's compare-and-set on the status, so of two sweeps (or a sweep and
    a session actor) one wins; settling is idempotent, so the payout happens exactly once.
    """

    def __init__(self, queries: PgSweepQueries, store: SessionStore, settler: Settler, *,
                 start_timeout_s: float, offline_grace_s: float,
                 clock: Callable[[], datetime], running_here: Callable[[UUID], bool]) -> None:
        self._queries = queries
        self._store = store
        self._settler = settler
        self._start_timeout = timedelta(seconds=start_timeout_s)
        self._grace = timedelta(seconds=offline_grace_s)
        self._clock = clock
        self._running_here = running_here

    async def run_once(self) -> SweepCounts:
        now = self._clock()
        failed = await self._end(await self._queries.stale_starts(now - self._start_timeout),
                                 StopReason.START_TIMEOUT, now)
        offline = [s for s in await self._queries.offline(now - self._grace)
                   if not self._running_here(s.session_id)]  # an actor here ends it itself
        ended = await self._end(offline, StopReason.OFFLINE, now)
        settled = 0
        for state in await self._queries.unsettled(now - self._start_timeout):
            settled += await self._settle(state)
        counts = SweepCounts(len(failed), len(ended), settled)
        if counts != SweepCounts():
            log.info("v2g.swept", start_timeouts=counts.start_timeouts,
                     offline_ended=counts.offline_ended, settled=counts.settled)
        return counts

    async def _end(self, states: Sequence[V2GState], reason: str,
                   now: datetime) -> list[V2GState]:
        """Each session ended by this sweep (another writer may have moved some first)."""
        ended = []
        for state in states:
            new, effects = decide(state, Abandoned(reason), now)
            events = [e for eff in effects if isinstance(eff, Persist) for e in eff.events]
            if new is state or not await self._store.save(state.status, new, (), events):
                continue  # not ours to end any more
            ended.append(new)
            if new.status is Status.COMPLETED:
                await self._settle(new)
        return ended

    async def _settle(self, state: V2GState) -> int:
        try:
            await self._settler.settle(state)
        except STORAGE_FAILURES as exc:  # the next round settles it (step (c))
            log.error("v2g.sweep_settle_failed", session=str(state.session_id), error=repr(exc))
            return 0
        return 1
