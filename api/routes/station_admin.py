"""Station administration beyond registration (admin, audited): change a station's
location, vendor, model and security profile; delete it (disconnected, history kept)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Protocol, runtime_checkable
from uuid import UUID

import msgspec
import structlog
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.errors import Conflict, InvalidInput, NotConfigured, NotFound
from api.routes.v2g import capability_out
from api.routing import Call, Resource, json_response
from api.schemas.base import Body
from api.schemas.stations import LocationBody, StationOut, Text
from api.schemas.v2g import CapabilityOut, V2GSettingBody
from api.security import authenticate
from api.services import need
from api.services.v2g import v2g_of
from sigec_actors.domain.records import AuditEntry, NewLocation, Role
from sigec_actors.ports import StationRepository
from sigec_actors.runtime.errors import ActorNotFound
from sigec_actors.services.passwords import generate_password

resource = Resource("stations", authenticate)
routes = resource.table
log = structlog.get_logger("api.station_admin")
EXTRAS_KEY = "stations.details"
BASE = "/api/v1/admin/stations/{id}"
RETIRED = "Retired"
PASSWORD_PROFILES = (1, 2)


@runtime_checkable
class StationDetails(Protocol):
    """admin_surface.stations.PgStationDetails (testing.admin_surface.InMemoryStationDetails)."""

    async def set_details(self, station_id: str, changes: Mapping[str, Any]) -> bool: ...


class StationPatchBody(Body, frozen=True, kw_only=True):
    """Fields to change. `location` places the station at a new site; `locationId` at an
    existing one (null: nowhere). A security profile of 1 or 2 without a stored password
    gets a generated one, answered once in `password`; 0 and 3 drop the password."""

    vendor: Text | UnsetType | None = UNSET
    model: Text | UnsetType | None = UNSET
    location_id: UUID | UnsetType | None = UNSET
    location: LocationBody | UnsetType = UNSET
    security_profile: Annotated[int, msgspec.Meta(ge=0, le=3)] | UnsetType = UNSET
    v2g: V2GSettingBody | UnsetType = UNSET


class StationPatchOut(CapabilityOut, frozen=True, kw_only=True):
    """The station's V2G capability (what this PATCH answered before it took the other
    fields) and the station itself; `password` only when one was generated."""

    station: StationOut
    password: str | None = None


def _details(call: Call) -> StationDetails:
    port = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(port, StationDetails):
        raise NotConfigured("station details")
    return port


async def _audit(call: Call, action: str, station_id: str, details: dict[str, Any]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, "station", station_id,
        details=msgspec.to_builtins(details), ip=call.request.remote))


async def _location(stations: StationRepository, body: StationPatchBody) -> dict[str, Any]:
    if body.location is not UNSET and body.location_id is not UNSET:
        raise InvalidInput("location", "give location or locationId, not both")
    if body.location is not UNSET:
        loc = body.location
        made = await stations.add_location(NewLocation(
            loc.name, loc.latitude, loc.longitude, loc.address, loc.city, loc.state,
            loc.postal_code))
        return {"location_id": made.id}
    if body.location_id is UNSET:
        return {}
    if body.location_id is not None and await stations.get_location(body.location_id) is None:
        raise InvalidInput("locationId", "names no location")
    return {"location_id": body.location_id}


async def _profile(call: Call, station_id: str, profile: int) -> str | None:
    """Store the new security profile; the generated password when one was needed."""
    stations = need(call.ctx.stations, "stations")
    creds = await stations.credentials(station_id)
    current = creds.password_hash if creds is not None else None
    if profile not in PASSWORD_PROFILES:
        await stations.set_credentials(station_id, None, profile)
        return None
    if current is not None:
        await stations.set_credentials(station_id, current, profile)
        return None
    password = generate_password()
    hashed = await need(call.ctx.passwords, "passwords").hash(password)
    await stations.set_credentials(station_id, hashed, profile)
    return password


@resource.patch(BASE, "Change a station's location, vendor, model, security profile or V2G"
                " mode (audited)", role=Role.ADMIN, body=StationPatchBody,
                response=StationPatchOut, errors=(404, 409, 503))
async def patch_station(call: Call) -> web.Response:
    station_id = call.path("id")
    stations = need(call.ctx.stations, "stations")
    station = await stations.get(station_id)
    queries = v2g_of(call.ctx).queries
    if station is None or await queries.capability(station_id) is None:
        raise NotFound("station", station_id)
    if station.admin_status == RETIRED:
        raise Conflict("station", station_id, "is deleted")
    body = call.body(StationPatchBody)
    changes: dict[str, Any] = {k: v for k, v in (("vendor", body.vendor),
                                                  ("model", body.model)) if v is not UNSET}
    changes.update(await _location(stations, body))
    if not await _details(call).set_details(station_id, changes):
        raise NotFound("station", station_id)
    password = None
    if body.security_profile is not UNSET:
        password = await _profile(call, station_id, body.security_profile)
        changes["security_profile"] = body.security_profile
    if body.v2g is not UNSET:
        await queries.set_mode(station_id, body.v2g.mode, body.v2g.max_discharge_w)
        changes["v2g"] = {"mode": body.v2g.mode, "maxDischargeW": body.v2g.max_discharge_w}
    await _audit(call, "station.update", station_id, changes)
    return json_response(await _answer(call, station_id, password))


async def _answer(call: Call, station_id: str, password: str | None) -> StationPatchOut:
    updated = await need(call.ctx.stations, "stations").get(station_id)
    cap = await v2g_of(call.ctx).queries.capability(station_id)
    assert updated is not None
    assert cap is not None
    c = capability_out(cap)
    return StationPatchOut(charge_point_id=c.charge_point_id, supported=c.supported,
                           mode=c.mode, max_discharge_w=c.max_discharge_w, evses=c.evses,
                           station=StationOut.of(updated), password=password)


def _paths(tree: Any) -> Iterator[str]:
    stack = [msgspec.to_builtins(tree)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("path"), str):
                yield node["path"]
            stack.extend(v for v in node.values() if isinstance(v, (list, dict)))
        elif isinstance(node, list):
            stack.extend(node)


async def _disconnect(call: Call, station_id: str) -> bool:
    """Stop the station's actor wherever it runs (its socket closes with it)."""
    actors = call.ctx.actors
    if actors is None:
        return False
    suffix = f"/charge-points/{station_id}"
    for path in _paths(await actors.tree()):
        if path.endswith(suffix):
            try:
                await actors.stop(path, by=call.caller.sub)
            except ActorNotFound:
                return False
            return True
    return False


@resource.delete(BASE, "Delete a station: retired, its password replaced and its connection"
                 " closed; its history stays (audited)", role=Role.ADMIN, status=204,
                 errors=(404,))
async def delete_station(call: Call) -> web.Response:
    station_id = call.path("id")
    stations = need(call.ctx.stations, "stations")
    station = await stations.get(station_id)
    if station is None:
        raise NotFound("station", station_id)
    await stations.set_admin_status(station_id, RETIRED)  # boots are Rejected from now on
    if station.security_profile in PASSWORD_PROFILES:  # a password nobody knows: 401 from now
        lock = await need(call.ctx.passwords, "passwords").hash(generate_password())
        await stations.set_credentials(station_id, lock, station.security_profile)
    disconnected = await _disconnect(call, station_id)
    await _audit(call, "station.delete", station_id, {"disconnected": disconnected})
    log.info("station_deleted", station_id=station_id, by=call.caller.sub,
             disconnected=disconnected)
    return web.Response(status=204)
