"""Site power limits (admin) and a site's load: the Site actor of a location."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable
from uuid import UUID

import msgspec
from aiohttp import web

from api.errors import NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.schemas.stations import StationId
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.smart_charging.allocation import Strategy
from sigec_actors.smart_charging.site import DEFAULT_MAX_PER_EVSE_W
from sigec_actors.smart_charging.site_actor import LoadView
from sigec_actors.smart_charging.sites import SiteBusy
from sigec_actors.smart_charging.store import SiteLimits

resource = Resource("sites", authenticate)
routes = resource.table
EXTRAS_KEY = "smart_charging"  # sigec_actors.smart_charging.wiring.EXTRAS_KEY
BASE = "/api/v1/admin/locations/{id}"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
Watts = Annotated[int, msgspec.Meta(ge=1, le=10**9)]


@runtime_checkable
class SiteStore(Protocol):
    async def put_site(self, limits: SiteLimits) -> bool: ...
    async def link_station(self, location_id: UUID, station_id: str) -> bool: ...
    async def location_exists(self, location_id: UUID) -> bool: ...


@runtime_checkable
class SitesPort(Protocol):
    async def load(self, location_id: UUID) -> LoadView | None: ...
    async def limits_changed(self, location_id: UUID) -> None: ...


class LimitsBody(Body, frozen=True, kw_only=True):
    """`gridLimitW` for the whole connection; `fair` shares it equally with at least
    `minPerEvseW` each (when the limit allows), `priority` fills the earliest sessions first
    after every floor; `maxPerEvseW` is what one EVSE can take at most."""

    grid_limit_w: Watts
    strategy: Strategy = Strategy.FAIR
    min_per_evse_w: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0
    max_per_evse_w: Watts = DEFAULT_MAX_PER_EVSE_W


class LimitsOut(Out, frozen=True, kw_only=True):
    location_id: str
    grid_limit_w: int
    strategy: str
    min_per_evse_w: int
    max_per_evse_w: int


class StationLinkBody(Body, frozen=True, kw_only=True):
    charge_point_id: StationId


class StationLinkOut(Out, frozen=True, kw_only=True):
    location_id: str
    charge_point_id: str


def _ports(call: Call) -> tuple[SiteStore, SitesPort]:
    port = call.ctx.extras.get(EXTRAS_KEY)
    store, sites = getattr(port, "store", None), getattr(port, "sites", None)
    if not isinstance(store, SiteStore) or not isinstance(sites, SitesPort):
        raise NotConfigured("smart charging")
    return store, sites


def _location(call: Call) -> UUID:
    try:
        return UUID(call.path("id"))
    except ValueError:
        raise NotFound("location", call.path("id")) from None


async def _audit(call: Call, action: str, location_id: UUID, details: object) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, "location", str(location_id),
        details=msgspec.to_builtins(details), ip=call.request.remote))


@resource.put(f"{BASE}/limits", "Set a site's grid limit and strategy (its site actor "
              "re-allocates at once)", role=Role.ADMIN, body=LimitsBody, response=LimitsOut,
              errors=(404, 422, 503), path_types=UUID_PATH)
async def put_limits(call: Call) -> web.Response:
    location_id = _location(call)
    body = call.body(LimitsBody)
    store, sites = _ports(call)
    limits = SiteLimits(location_id=location_id, grid_limit_w=body.grid_limit_w,
                        strategy=body.strategy, min_per_evse_w=body.min_per_evse_w,
                        max_per_evse_w=body.max_per_evse_w)
    if not await store.put_site(limits):
        raise NotFound("location", str(location_id))
    await _audit(call, "site.limits", location_id, body)
    await sites.limits_changed(location_id)
    return json_response(LimitsOut(
        location_id=str(location_id), grid_limit_w=limits.grid_limit_w,
        strategy=limits.strategy.value, min_per_evse_w=limits.min_per_evse_w,
        max_per_evse_w=limits.max_per_evse_w))


@resource.post(f"{BASE}/stations", "Put a registered station at this location",
               role=Role.ADMIN, body=StationLinkBody, response=StationLinkOut,
               errors=(404, 422, 503), path_types=UUID_PATH)
async def link_station(call: Call) -> web.Response:
    location_id = _location(call)
    body = call.body(StationLinkBody)
    store, sites = _ports(call)
    if not await store.location_exists(location_id):
        raise NotFound("location", str(location_id))
    if not await store.link_station(location_id, body.charge_point_id):
        raise NotFound("station", body.charge_point_id)
    await _audit(call, "site.station", location_id, body)
    await sites.limits_changed(location_id)
    return json_response(StationLinkOut(location_id=str(location_id),
                                        charge_point_id=body.charge_point_id))


@resource.get(f"{BASE}/load", "A site's limit, allocations and measured power per EVSE",
              role=Role.OPERATOR, response=LoadView, errors=(404, 503), path_types=UUID_PATH)
async def get_load(call: Call) -> web.Response:
    location_id = _location(call)
    _store, sites = _ports(call)
    try:
        view = await sites.load(location_id)
    except SiteBusy:
        raise NotConfigured("the site (busy)") from None
    if view is None:
        raise NotFound("site limits", str(location_id))
    return json_response(view)
