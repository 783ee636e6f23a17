"""Location administration (admin, audited): create and change sites and their V2G submarket."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, runtime_checkable
from uuid import UUID

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.errors import NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.schemas.stations import Latitude, Longitude, Text
from api.security import authenticate
from api.services import need
from sigec_actors.adapters.pg_locations import SiteLocation
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.v2g.submarkets import location_state, state_submarket

resource = Resource("locations", authenticate)
routes = resource.table
EXTRAS_KEY = "locations"
BASE = "/api/v1/admin/locations"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
Uf = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]
SubmarketCode = Literal["SE", "S", "NE", "N"]
PostalCode = Annotated[str, msgspec.Meta(max_length=20)]


@runtime_checkable
class Locations(Protocol):
    """adapters.pg_locations.PgLocations (testing.locations.InMemoryLocations)."""

    async def create(self, values: Mapping[str, Any]) -> SiteLocation: ...
    async def update(self, location_id: UUID,
                     changes: Mapping[str, Any]) -> SiteLocation | None: ...


class LocationCreateBody(Body, frozen=True, kw_only=True):
    """A site. `state` is the Brazilian UF (2 letters); without it, a UF closing `address`
    ("... - SP") is used. `submarket` (SE|S|NE|N), when absent, comes from the UF by
    v2g.state_submarkets; none at all: v2g.default_submarket applies to its stations."""

    name: Text
    latitude: Latitude
    longitude: Longitude
    address: Text | None = None
    city: Text | None = None
    state: Uf | None = None
    postal_code: PostalCode | None = None
    submarket: SubmarketCode | None = None


class LocationPatchBody(Body, frozen=True, kw_only=True):
    """The fields to change. Setting `state` (or an `address` ending in a UF) without
    `submarket` sets the submarket from v2g.state_submarkets; `submarket: null` clears it."""

    name: Text | UnsetType = UNSET
    latitude: Latitude | UnsetType = UNSET
    longitude: Longitude | UnsetType = UNSET
    address: Text | UnsetType | None = UNSET
    city: Text | UnsetType | None = UNSET
    state: Uf | UnsetType | None = UNSET
    postal_code: PostalCode | UnsetType | None = UNSET
    submarket: SubmarketCode | UnsetType | None = UNSET


class LocationAdminOut(Out, frozen=True, kw_only=True):
    id: str
    name: str
    latitude: float
    longitude: float
    address: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    submarket: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, loc: SiteLocation) -> LocationAdminOut:
        return cls(id=str(loc.id), name=loc.name, latitude=loc.latitude,
                   longitude=loc.longitude, address=loc.address, city=loc.city,
                   state=loc.state, postal_code=loc.postal_code, submarket=loc.submarket,
                   created_at=loc.created_at)


def _locations(call: Call) -> Locations:
    port = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(port, Locations):
        raise NotConfigured("locations")
    return port


def _with_submarket(values: dict[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
    """`values` with the UF taken from the address when not given, and the submarket from
    the UF when not given (only when a UF is being written and the table has it)."""
    if "state" not in values and values.get("address"):
        uf = location_state(None, values["address"], table)
        if uf is not None:
            values["state"] = uf
    elif values.get("state"):
        values["state"] = values["state"].upper()
    if "submarket" not in values and values.get("state"):
        derived = state_submarket(values["state"], table)
        if derived is not None:
            values["submarket"] = derived.value
    return values


async def _audit(call: Call, action: str, loc: SiteLocation, values: dict[str, Any]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, "location", str(loc.id),
        details=msgspec.to_builtins(values), ip=call.request.remote))


@resource.post(BASE, "Create a location (its submarket given or from its state)",
               role=Role.ADMIN, body=LocationCreateBody, response=LocationAdminOut,
               status=201, errors=(503,))
async def create_location(call: Call) -> web.Response:
    body = call.body(LocationCreateBody)
    given = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
    values = _with_submarket(given, call.ctx.settings.v2g.state_submarkets)
    loc = await _locations(call).create(values)
    await _audit(call, "location.create", loc, values)
    return json_response(LocationAdminOut.of(loc), status=201)


@resource.patch(BASE + "/{id}", "Change a location (its V2G submarket among others)",
                role=Role.ADMIN, body=LocationPatchBody, response=LocationAdminOut,
                errors=(404, 503), path_types=UUID_PATH)
async def patch_location(call: Call) -> web.Response:
    try:
        location_id = UUID(call.path("id"))
    except ValueError:
        raise NotFound("location", call.path("id")) from None
    body = call.body(LocationPatchBody)
    given = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET}
    values = _with_submarket(given, call.ctx.settings.v2g.state_submarkets)
    loc = await _locations(call).update(location_id, values)
    if loc is None:
        raise NotFound("location", str(location_id))
    await _audit(call, "location.update", loc, values)
    return json_response(LocationAdminOut.of(loc))
