"""V2G discharge planning: the best-paid hours before the car leaves (any signed-in user)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import Annotated, Protocol, cast, runtime_checkable
from uuid import UUID, uuid4

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.context import AppContext
from api.errors import InvalidInput, NotConfigured, NotFound
from api.routes.v2g_prices import BASE, PricePorts
from api.routes.v2g_prices import EXTRAS_KEY as PRICES_KEY
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.schemas.stations import StationId
from api.security import authenticate
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.records import Role
from sigec_actors.domain.transactions import Transaction
from sigec_actors.v2g.optimize import (
    DEFAULT_BATTERY_WH,
    DEFAULT_MAX_DISCHARGE_W,
    DEFAULT_SOC,
    Car,
    Plan,
    PlanRefused,
    Window,
    check_departure,
    plan,
)
from sigec_actors.v2g.plan_runner import EXTRAS_KEY as PLANS_KEY
from sigec_actors.v2g.plans import PlanStore, new_plan
from sigec_actors.v2g.pricing import HOUR, Submarket, hour_floor
from sigec_actors.v2g_session.queries import Preferences

resource = Resource("v2g-optimize", authenticate)
routes = resource.table
SESSIONS_KEY = "v2g_sessions"
"""ctx.extras key of the discharge-session wiring; its `queries` give station capabilities."""
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class EvseView(Protocol):
    @property
    def current_soc(self) -> int | None: ...


class CapabilityView(Protocol):
    @property
    def max_discharge_w(self) -> int | None: ...

    @property
    def evses(self) -> Sequence[EvseView]: ...


@runtime_checkable
class Capabilities(Protocol):
    async def capability(self, station_id: str) -> CapabilityView | None:
        """The station's V2G capability; None for an unknown station."""
        ...


@runtime_checkable
class PlanInputs(Protocol):
    """What scheduling a plan reads: the caller's preferences and the station's transaction."""

    async def preferences(self, user_id: UUID) -> Preferences: ...

    async def active_transaction(self, station_id: str,
                                 evse_id: int | None) -> Transaction | None: ...


class OptimizeBody(Body, frozen=True, kw_only=True):
    """Plan discharge windows for the car on `chargePointId` until `departureAt` (at most 7
    days ahead), never below `minSoc` (%) nor the caller's `preserveSoc`. The SoC used is the
    station's last reported one, else `currentSoc`, else 80; the capacity
    `batteryCapacityWh`, else 60000 Wh."""

    charge_point_id: StationId
    departure_at: Annotated[datetime, msgspec.Meta(tz=True)]
    min_soc: Percent
    battery_capacity_wh: Annotated[int, msgspec.Meta(ge=1_000, le=1_000_000)] | UnsetType = UNSET
    current_soc: Percent | UnsetType = UNSET


class WindowOut(Out, frozen=True, kw_only=True):
    start: datetime
    end: datetime
    power_w: int
    expected_wh: int
    price_centavos_per_mwh: int
    price_centavos_per_kwh: int

    @classmethod
    def of(cls, w: Window) -> WindowOut:
        return cls(start=w.start, end=w.end, power_w=w.power_w, expected_wh=w.expected_wh,
                   price_centavos_per_mwh=w.price_centavos_per_mwh,
                   price_centavos_per_kwh=round(Fraction(w.price_centavos_per_mwh, 1000)))


class OptimizeOut(Out, frozen=True, kw_only=True):
    """Windows in time order; earnings net of the operator margin (compensate() over the
    windows' hours). The inputs used are echoed: SoC, floor, capacity, power, submarket.
    `scheduled`: the plan was stored as `planId` and its windows start by themselves (the
    caller's autoDischarge is on and the station's active transaction is the caller's)."""

    windows: list[WindowOut]
    expected_wh: int
    expected_earnings_centavos: int
    policy_version: str
    submarket: Submarket
    current_soc: float
    min_soc: float
    battery_capacity_wh: int
    max_discharge_w: int
    scheduled: bool = False
    plan_id: str | None = None

    @classmethod
    def of(cls, result: Plan, car: Car, submarket: Submarket,
           plan_id: UUID | None = None) -> OptimizeOut:
        return cls(windows=[WindowOut.of(w) for w in result.windows],
                   expected_wh=result.expected_wh,
                   expected_earnings_centavos=result.expected_earnings_centavos,
                   policy_version=result.policy_version, submarket=submarket,
                   current_soc=car.soc, min_soc=car.min_soc, battery_capacity_wh=car.capacity_wh,
                   max_discharge_w=car.max_discharge_w, scheduled=plan_id is not None,
                   plan_id=None if plan_id is None else str(plan_id))


def _ports(call: Call) -> tuple[PricePorts, Capabilities]:
    prices = call.ctx.extras.get(PRICES_KEY)
    capabilities = getattr(call.ctx.extras.get(SESSIONS_KEY), "queries", None)
    if not isinstance(prices, PricePorts):
        raise NotConfigured("v2g prices")
    if not isinstance(capabilities, Capabilities):
        raise NotConfigured("v2g sessions")
    return prices, capabilities


def plans_of(ctx: AppContext) -> PlanStore:
    store = ctx.extras.get(PLANS_KEY)
    if store is None:
        raise NotConfigured("v2g plans")
    return cast(PlanStore, store)


async def _floor(call: Call, min_soc: float) -> float:
    """The planning floor: `minSoc`, raised to the caller's `preserveSoc` as a session's is."""
    queries = getattr(call.ctx.extras.get(SESSIONS_KEY), "queries", None)
    if not isinstance(queries, PlanInputs):
        return min_soc
    return max(min_soc, (await queries.preferences(UUID(call.caller.sub))).preserve_soc)


async def _car(body: OptimizeBody, capabilities: Capabilities, floor: float) -> Car:
    cap = await capabilities.capability(body.charge_point_id)
    if cap is None:
        raise NotFound("station", body.charge_point_id)
    reported = [e.current_soc for e in cap.evses if e.current_soc is not None]
    given = None if isinstance(body.current_soc, UnsetType) else body.current_soc
    soc = reported[0] if reported else given if given is not None else DEFAULT_SOC
    capacity = (DEFAULT_BATTERY_WH if isinstance(body.battery_capacity_wh, UnsetType)
                else body.battery_capacity_wh)
    return Car(soc=float(soc), min_soc=floor, capacity_wh=capacity,
               max_discharge_w=cap.max_discharge_w or DEFAULT_MAX_DISCHARGE_W)


@resource.post(f"{BASE}/optimize", "Plan V2G discharge windows before departure",
               role=Role.USER, body=OptimizeBody, response=OptimizeOut, errors=(404, 422, 503))
async def optimize(call: Call) -> web.Response:
    body = call.body(OptimizeBody)
    now = call.ctx.clock()
    try:
        check_departure(now, body.departure_at)
    except PlanRefused as exc:
        raise InvalidInput(exc.field, exc.problem) from None
    ports, capabilities = _ports(call)
    car = await _car(body, capabilities, await _floor(call, body.min_soc))
    try:
        submarket = await ports.stations.station_submarket(body.charge_point_id)
    except UnknownStation:
        raise NotFound("station", body.charge_point_id) from None
    submarket = submarket or ports.default_submarket
    hours = -(-(body.departure_at - hour_floor(now)) // HOUR)
    prices = await ports.prices.forecast(submarket, now, hours)
    result = plan(now, body.departure_at, car, prices, ports.policy)
    plan_id = await _schedule(call, body, result, now)
    return json_response(OptimizeOut.of(result, car, submarket, plan_id))


async def _schedule(call: Call, body: OptimizeBody, result: Plan, now: datetime) -> UUID | None:
    """Store the plan when the caller's autoDischarge is on and the station's active
    transaction is theirs (a live plan of that transaction is replaced); its id, else None."""
    queries = getattr(call.ctx.extras.get(SESSIONS_KEY), "queries", None)
    user = UUID(call.caller.sub)
    if not result.windows or not isinstance(queries, PlanInputs):
        return None
    if not (await queries.preferences(user)).auto_discharge:
        return None
    tx = await queries.active_transaction(body.charge_point_id, None)
    if tx is None or tx.user_id != user or tx.evse_id is None:
        return None
    stored = await plans_of(call.ctx).create(new_plan(
        uuid4(), user_id=user, station_id=body.charge_point_id, evse_id=tx.evse_id,
        transaction_id=tx.id, windows=result.windows, min_soc=math.ceil(body.min_soc),
        departure_at=body.departure_at, now=now))
    return stored.id
