"""Station administration (admin): register, list, rotate the Basic-auth password."""

from __future__ import annotations

from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.base import PageQuery
from api.schemas.stations import (
    CreateStationBody,
    PasswordChangedOut,
    StationCreatedOut,
    StationPage,
    StationPasswordBody,
)
from api.security import authenticate
from api.services import services_of
from sigec_actors.domain.records import Role

resource = Resource("stations", authenticate)
routes = resource.table
COMMAND_ERRORS = (404, 409, 502, 503, 504)


@resource.post("/api/v1/admin/stations", "Register a station (password generated if needed)",
               role=Role.ADMIN, body=CreateStationBody, response=StationCreatedOut,
               status=201, errors=(409,))
async def create_station(call: Call) -> web.Response:
    created = await services_of(call.request).stations.register(
        call.body(CreateStationBody), by=call.caller.sub)
    return json_response(created, status=201)


@resource.get("/api/v1/admin/stations", "List registered stations", role=Role.ADMIN,
              query=PageQuery, response=StationPage)
async def list_stations(call: Call) -> web.Response:
    q = call.query(PageQuery)
    return json_response(await services_of(call.request).stations.page(q.limit, q.offset))


@resource.put("/api/v1/admin/stations/{id}/password",
              "Set a new Basic-auth password, pushed to the station when connected",
              role=Role.ADMIN, body=StationPasswordBody, body_required=False,
              response=PasswordChangedOut, errors=COMMAND_ERRORS)
async def set_password(call: Call) -> web.Response:
    changed = await services_of(call.request).stations.set_password(
        call.path("id"), call.body(StationPasswordBody).password, by=call.caller.sub)
    return json_response(changed)
