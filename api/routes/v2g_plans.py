"""autoDischarge plans: the caller's own, listed and cancelled (stored by POST /v2g/optimize)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web

from api.errors import NotFound
from api.routes.v2g_optimize import WindowOut, plans_of
from api.routing import Call, Resource, json_response
from api.schemas.base import Out
from api.security import authenticate
from sigec_actors.domain.records import Role
from sigec_actors.v2g.plans import StoredPlan, runs

resource = Resource("v2g-plans", authenticate)
routes = resource.table
BASE = "/api/v1/v2g/plans"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}


class RunOut(Out, frozen=True, kw_only=True):
    start: datetime
    end: datetime
    power_w: int
    expected_wh: int


class PlanOut(Out, frozen=True, kw_only=True):
    """A stored plan: its windows (as optimize answered), the runs the job starts (adjacent
    windows merged, one discharge session each, `until` = the run's end), where it stands."""

    id: str
    charge_point_id: str
    evse_id: int
    transaction_id: str
    status: str  # planned | started | cancelled | expired
    min_soc: int
    departure_at: datetime
    windows: list[WindowOut]
    runs: list[RunOut]
    next_run: int
    next_start_at: datetime | None
    session_ids: list[str]
    last_error: str | None
    cancel_reason: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, p: StoredPlan) -> PlanOut:
        return cls(
            id=str(p.id), charge_point_id=p.station_id, evse_id=p.evse_id,
            transaction_id=str(p.transaction_id), status=p.status.value, min_soc=p.min_soc,
            departure_at=p.departure_at, windows=[WindowOut.of(w) for w in p.windows],
            runs=[RunOut(start=r.start, end=r.end, power_w=r.power_w, expected_wh=r.expected_wh)
                  for r in runs(p.windows)],
            next_run=p.next_run, next_start_at=p.next_start_at,
            session_ids=[str(s) for s in p.session_ids], last_error=p.last_error,
            cancel_reason=p.cancel_reason, created_at=p.created_at)


class PlanList(Out, frozen=True, kw_only=True):
    items: list[PlanOut]


@resource.get(BASE, "The caller's autoDischarge plans, newest first (the last 50)",
              role=Role.USER, response=PlanList, errors=(503,))
async def list_plans(call: Call) -> web.Response:
    plans = await plans_of(call.ctx).for_user(UUID(call.caller.sub))
    return json_response(PlanList(items=[PlanOut.of(p) for p in plans]))


@resource.delete(BASE + "/{id}", "Cancel one of the caller's plans (a running session goes on)",
                 role=Role.USER, response=PlanOut, errors=(404, 503), path_types=UUID_PATH)
async def cancel_plan(call: Call) -> web.Response:
    try:
        plan_id = UUID(call.path("id"))
    except ValueError:
        raise NotFound("v2g plan", call.path("id")) from None
    plan = await plans_of(call.ctx).cancel(plan_id, UUID(call.caller.sub), "user")
    if plan is None:
        raise NotFound("v2g plan", str(plan_id))
    return json_response(PlanOut.of(plan))
