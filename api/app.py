"""The aiohttp application: middleware and the route tables of every resource."""

from __future__ import annotations

import msgspec
from aiohttp import web

from api.context import CTX, AppContext
from api.middleware import metrics_middleware
from api.openapi import build_document
from api.problems import problem_middleware
from api.routes import (
    admin,
    admin_web,
    alerts,
    auth,
    certificates,
    charging_profiles,
    commands,
    dashboard,
    device_model,
    devices,
    diagnostics,
    firmware,
    health,
    id_tokens,
    locations,
    metrics,
    ocpp_blocks,
    ocpp_raw,
    openapi,
    payments,
    pki,
    reports,
    reservations,
    sites,
    station_admin,
    stations,
    tariffs,
    transactions,
    user_admin,
    users,
    v2g,
    v2g_admin,
    v2g_optimize,
    v2g_plans,
    v2g_prices,
    voice,
    voice_ws,
    wallet,
)
from api.routing import Resource, RouteSpec
from api.services import SERVICES, ApiServices

RESOURCES: tuple[Resource, ...] = (
    health.resource, metrics.resource, openapi.resource, auth.resource, users.resource,
    devices.resource, commands.resource, stations.resource, admin.resource,
    id_tokens.resource, transactions.resource, reservations.resource, alerts.resource,
    v2g_prices.resource, v2g_optimize.resource, v2g.resource, wallet.resource,
    payments.resource,
    v2g_plans.resource, v2g_admin.resource, locations.resource,
    device_model.resource, diagnostics.resource,
    reports.resource, admin_web.resource,
    ocpp_blocks.resource, ocpp_raw.resource,
    tariffs.resource, dashboard.resource, station_admin.resource, user_admin.resource,
    voice.resource,
    firmware.resource,
    charging_profiles.resource, sites.resource,
    certificates.resource, pki.resource,
)


PAGES: tuple[web.RouteTableDef, ...] = (admin_web.routes, voice_ws.routes)
"""Routes that are not API operations (the operator web page, the voice WebSocket): they
have no OpenAPI entry and no role in the matrix (each authenticates in its own way)."""


def route_specs() -> list[RouteSpec]:
    """Every route of the API with its metadata (OpenAPI, authorization matrix)."""
    return [spec for resource in RESOURCES for spec in resource.specs]


def create_app(ctx: AppContext) -> web.Application:
    """Build the REST application around an AppContext."""
    app = web.Application(middlewares=[metrics_middleware, problem_middleware],
                          client_max_size=1024 * 1024)
    app[CTX] = ctx
    app[SERVICES] = ApiServices(ctx)
    specs = route_specs()
    app[openapi.SPECS] = specs
    app[openapi.DOCUMENT] = msgspec.json.encode(build_document(specs))
    for resource in RESOURCES:
        app.add_routes(resource.table)
    app.add_routes(voice_ws.routes)  # WS /ws/voice (not an OpenAPI operation)
    return app
