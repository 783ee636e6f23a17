"""The OpenAPI 3.1 document of this app."""

from __future__ import annotations

from aiohttp import web

from api.routing import Call, Resource, RouteSpec

resource = Resource("meta")
routes = resource.table
SPECS = web.AppKey("route_specs", list[RouteSpec])
DOCUMENT = web.AppKey("openapi_document", bytes)


@resource.get("/api/v1/openapi.json", "This document", role=None)
async def openapi(call: Call) -> web.Response:
    return web.Response(body=call.request.app[DOCUMENT], content_type="application/json")
