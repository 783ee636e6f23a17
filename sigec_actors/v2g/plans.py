"""autoDischarge plans: the discharge runs of an optimized plan and the job's next step (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import msgspec

from sigec_actors.errors import SigecError
from sigec_actors.v2g.optimize import Window


class PlanStatus(StrEnum):
    PLANNED = "planned"
    """No run started yet."""
    STARTED = "started"
    """At least one run was started (or tried); later runs may follow."""
    CANCELLED = "cancelled"
    """By the user, the end of the transaction, autoDischarge turned off or a newer plan."""
    EXPIRED = "expired"
    """Every run's time is over (run or missed)."""


LIVE = (PlanStatus.PLANNED, PlanStatus.STARTED)
TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.PLANNED: frozenset(PlanStatus),
    PlanStatus.STARTED: frozenset({PlanStatus.STARTED, PlanStatus.CANCELLED,
                                   PlanStatus.EXPIRED}),
    PlanStatus.CANCELLED: frozenset(),
    PlanStatus.EXPIRED: frozenset(),
}
CANCEL_REASONS = ("user", "transaction_ended", "auto_discharge_off", "replaced")


class PlanTransitionRefused(SigecError):
    """A plan step the transition table does not allow (a finished plan never moves)."""

    def __init__(self, plan_id: str, current: str, wanted: str) -> None:
        self.plan_id = plan_id
        self.current = current
        self.wanted = wanted
        super().__init__(f"v2g plan {plan_id}: {current} -> {wanted} is not allowed")


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """One discharge session of a plan: adjacent windows at one power, merged."""

    start: datetime
    end: datetime
    power_w: int
    expected_wh: int


class StoredPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A plan as stored (v2g_plans): `next_run` indexes runs(windows); the job looks at it
    again at `next_start_at` (None once it is finished)."""

    id: UUID
    user_id: UUID
    station_id: str
    evse_id: int
    transaction_id: UUID
    windows: list[Window]
    min_soc: int
    departure_at: datetime
    status: PlanStatus
    next_run: int
    next_start_at: datetime | None
    session_ids: list[UUID] = msgspec.field(default_factory=list)
    last_error: str | None = None
    cancel_reason: str | None = None
    created_at: datetime | None = None


class PlanStep(msgspec.Struct, frozen=True, kw_only=True):
    """What the job writes to a due plan, and the run to start now (if any)."""

    status: PlanStatus
    next_run: int
    next_start_at: datetime | None
    cancel_reason: str | None = None
    start: Run | None = None


class PlanStore(Protocol):
    """v2g_plans (adapters.pg_v2g_plans.PgV2GPlans; an in-memory fake in sigec_actors.testing)."""

    async def create(self, plan: StoredPlan) -> StoredPlan:
        """Store a plan; a live plan of the same transaction is cancelled (`replaced`)."""
        ...

    async def for_user(self, user_id: UUID) -> list[StoredPlan]: ...

    async def cancel(self, plan_id: UUID, user_id: UUID | None, reason: str
                     ) -> StoredPlan | None:
        """Cancel a live plan (of `user_id` unless None); a finished one is returned as it is;
        None when there is no such plan (of that user)."""
        ...


def runs(windows: Sequence[Window]) -> list[Run]:
    """The windows in time order, each merged with the next when it ends where (or after) that
    one starts at the same power: one session per run, never two back to back on the EVSE."""
    merged: list[Run] = []
    for w in sorted(windows, key=lambda w: w.start):
        last = merged[-1] if merged else None
        if last is not None and last.end >= w.start and last.power_w == w.power_w:
            merged[-1] = Run(start=last.start, end=max(last.end, w.end), power_w=w.power_w,
                             expected_wh=last.expected_wh + w.expected_wh)
        else:
            merged.append(Run(start=w.start, end=w.end, power_w=w.power_w,
                              expected_wh=w.expected_wh))
    return merged


def new_plan(plan_id: UUID, *, user_id: UUID, station_id: str, evse_id: int,
             transaction_id: UUID, windows: Sequence[Window], min_soc: int,
             departure_at: datetime, now: datetime) -> StoredPlan:
    """A `planned` plan due at its first run's start (windows must not be empty)."""
    first = runs(windows)[0]
    return StoredPlan(id=plan_id, user_id=user_id, station_id=station_id, evse_id=evse_id,
                      transaction_id=transaction_id, windows=list(windows), min_soc=min_soc,
                      departure_at=departure_at, status=PlanStatus.PLANNED, next_run=0,
                      next_start_at=first.start, created_at=now)


def check(plan: StoredPlan, wanted: PlanStatus) -> None:
    if wanted not in TRANSITIONS[plan.status]:
        raise PlanTransitionRefused(str(plan.id), plan.status.value, wanted.value)


def cancel(plan: StoredPlan, reason: str) -> PlanStep:
    check(plan, PlanStatus.CANCELLED)
    return PlanStep(status=PlanStatus.CANCELLED, next_run=plan.next_run, next_start_at=None,
                    cancel_reason=reason)


def step(plan: StoredPlan, now: datetime, *, transaction_active: bool,
         auto_discharge: bool) -> PlanStep:
    """The due plan's next step at `now`: cancelled when its transaction ended or autoDischarge
    is off; runs whose end passed are skipped; the run under way starts now (until its end)
    and the job comes back at the next run's start, or at this run's end to expire the plan."""
    if not transaction_active:
        return cancel(plan, "transaction_ended")
    if not auto_discharge:
        return cancel(plan, "auto_discharge_off")
    todo = runs(plan.windows)
    index = next((i for i in range(plan.next_run, len(todo)) if todo[i].end > now), None)
    if index is None:
        check(plan, PlanStatus.EXPIRED)
        return PlanStep(status=PlanStatus.EXPIRED, next_run=len(todo), next_start_at=None)
    run = todo[index]
    if run.start > now:  # not yet (a missed run was skipped): come back at its start
        check(plan, plan.status)
        return PlanStep(status=plan.status, next_run=index, next_start_at=run.start)
    check(plan, PlanStatus.STARTED)
    after = todo[index + 1].start if index + 1 < len(todo) else run.end
    return PlanStep(status=PlanStatus.STARTED, next_run=index + 1, next_start_at=after,
                    start=run)
