"""Devices (charge points) for apps and operators: list, detail, nearby, availability."""

from __future__ import annotations

from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.stations import (
    DeviceDetailOut,
    DevicePage,
    DeviceQuery,
    DeviceStatusBody,
    DeviceStatusOut,
    NearbyOut,
    NearbyQuery,
)
from api.security import authenticate
from api.services import services_of
from sigec_actors.domain.records import Role

resource = Resource("devices", authenticate)
routes = resource.table


@resource.get("/api/v1/devices", "List devices, optionally by status", role=Role.USER,
              query=DeviceQuery, response=DevicePage)
async def list_devices(call: Call) -> web.Response:
    return json_response(await services_of(call.request).devices.page(call.query(DeviceQuery)))


# Registered before /devices/{id} so that "nearby" is not taken for an id.
@resource.get("/api/v1/devices/nearby", "Devices within a radius, nearest first",
              role=Role.USER, query=NearbyQuery, response=NearbyOut)
async def nearby(call: Call) -> web.Response:
    return json_response(await services_of(call.request).devices.nearby(call.query(NearbyQuery)))


@resource.get("/api/v1/devices/{id}", "One device with connectors and live status",
              role=Role.USER, response=DeviceDetailOut, errors=(404,))
async def get_device(call: Call) -> web.Response:
    return json_response(await services_of(call.request).devices.detail(call.path("id")))


@resource.patch("/api/v1/devices/{id}/status",
                "Make the station Operative or Inoperative (ChangeAvailability)",
                role=Role.OPERATOR, body=DeviceStatusBody, response=DeviceStatusOut,
                errors=(404, 409, 502, 503, 504))
async def set_status(call: Call) -> web.Response:
    status = call.body(DeviceStatusBody).admin_status
    return json_response(await services_of(call.request).devices.set_status(call.path("id"),
                                                                            status))


# GET /devices/{id}/firmware/status: api/routes/firmware.py (job-backed)
