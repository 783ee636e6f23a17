"""The autoDischarge job: starts each due run of a stored plan as the plan's user, on any node."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import structlog

from api.context import AppContext
from sigec_actors.adapters.pg_v2g_plans import PgV2GPlans
from sigec_actors.config import V2GConfig
from sigec_actors.errors import SigecError
from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorDead, AskTimeout, MailboxFull
from sigec_actors.v2g.plans import Run, StoredPlan
from sigec_actors.v2g_session.errors import NoTransaction, NotTransactionOwner
from sigec_actors.v2g_session.ports import Starter
from sigec_actors.v2g_session.service import StartRequest

log = structlog.get_logger("v2g.plans")
EXTRAS_KEY = "v2g_plans"
"""ctx.extras key of the PlanStore (GET/DELETE /v2g/plans, the optimize route's scheduling)."""
CLAIM_BATCH = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


class PlanJobStore(Protocol):
    """What the job needs of v2g_plans (PgV2GPlans)."""

    async def sweep(self) -> int: ...
    async def claim_due(self, now: datetime, limit: int = ...) -> list[tuple[StoredPlan, Run]]: ...
    async def started(self, plan_id: UUID, session_id: UUID) -> None: ...
    async def start_failed(self, plan_id: UUID, error: str) -> None: ...
    async def cancel(self, plan_id: UUID, user_id: UUID | None,
                     reason: str) -> StoredPlan | None: ...


class PlanRunner:
    """One round: cancel plans that lost their transaction or autoDischarge, claim the due
    ones, start each claimed run through `starter_for(user)` (the discharge start service
    sending as that user). A claimed run is tried once: a failed start is kept in
    `last_error` and the plan goes on with its next run."""

    def __init__(self, store: PlanJobStore, starter_for: Callable[[UUID], Starter], *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._starter_for = starter_for
        self._clock = clock

    async def run_once(self) -> int:
        """How many sessions this round started."""
        await self._store.sweep()
        started = 0
        for plan, run in await self._store.claim_due(self._clock(), CLAIM_BATCH):
            started += await self._start(plan, run)
        return started

    async def _start(self, plan: StoredPlan, run: Run) -> int:
        request = StartRequest(user_id=plan.user_id, station_id=plan.station_id,
                               evse_id=plan.evse_id, min_soc=plan.min_soc, until=run.end)
        try:
            state = await self._starter_for(plan.user_id).start(request)
        except (NoTransaction, NotTransactionOwner) as exc:  # the transaction is gone
            await self._store.cancel(plan.id, None, "transaction_ended")
            log.info("v2g.plan_cancelled", plan=str(plan.id), error=str(exc))
            return 0
        except (SigecError, ActorDead, AskTimeout, MailboxFull) as exc:  # offline, busy, ...
            error = f"{type(exc).__name__}: {exc}"
            await self._store.start_failed(plan.id, error)
            log.warning("v2g.plan_start_failed", plan=str(plan.id), error=error)
            return 0
        await self._store.started(plan.id, state.session_id)
        log.info("v2g.plan_started", plan=str(plan.id), session=str(state.session_id),
                 until=run.end.isoformat())
        return 1


class PlansWiring:
    """A node's autoDischarge plans: the REST store and the job (every node runs it; the
    claim makes each run start once)."""

    def __init__(self, pool: DbPool, cfg: V2GConfig,
                 starter_for: Callable[[UUID], Starter]) -> None:
        self.cfg = cfg
        self.store = PgV2GPlans(pool)
        self.runner = PlanRunner(self.store, starter_for)
        self._jobs = Jobs()

    def fill(self, ctx: AppContext) -> None:
        ctx.extras[EXTRAS_KEY] = self.store

    def start(self) -> None:
        self._jobs.spawn("v2g-plans", every(self.cfg.plan_check_interval_s,
                                            self.runner.run_once, job="v2g-plans"))

    async def stop(self) -> None:
        await self._jobs.stop()
