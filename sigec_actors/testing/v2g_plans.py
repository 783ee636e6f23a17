"""In-memory autoDischarge plans: the PlanStore the REST routes use (API tests, the matrix)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from sigec_actors.v2g.plans import LIVE, StoredPlan, cancel


class InMemoryPlans:
    """PgV2GPlans' REST side in a dict (one live plan per transaction)."""

    def __init__(self) -> None:
        self.plans: dict[UUID, StoredPlan] = {}

    async def create(self, plan: StoredPlan) -> StoredPlan:
        for old in list(self.plans.values()):
            if old.transaction_id == plan.transaction_id and old.status in LIVE:
                self._apply(old, "replaced")
        self.plans[plan.id] = plan
        return plan

    async def for_user(self, user_id: UUID) -> list[StoredPlan]:
        mine = [p for p in self.plans.values() if p.user_id == user_id]
        return sorted(mine, key=lambda p: (p.created_at is None, p.created_at),
                      reverse=True)[:50]

    async def cancel(self, plan_id: UUID, user_id: UUID | None, reason: str
                     ) -> StoredPlan | None:
        plan = self.plans.get(plan_id)
        if plan is None or (user_id is not None and plan.user_id != user_id):
            return None
        return self._apply(plan, reason) if plan.status in LIVE else plan

    def _apply(self, plan: StoredPlan, reason: str) -> StoredPlan:
        change = cancel(plan, reason)
        self.plans[plan.id] = msgspec.structs.replace(
            plan, status=change.status, next_start_at=None, cancel_reason=reason)
        return self.plans[plan.id]
