"""The operator dashboard: one call with the network's figures, cheap enough to poll."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from aiohttp import web

from api.errors import NotConfigured
from api.routing import Call, Resource, json_response
from api.security import authenticate
from sigec_actors.admin_surface.dashboard import Dashboard
from sigec_actors.domain.records import Role

resource = Resource("dashboard", authenticate)
routes = resource.table
EXTRAS_KEY = "dashboard"


@runtime_checkable
class DashboardSource(Protocol):
    """admin_surface.dashboard.PgDashboard (testing.admin_surface.FixedDashboard)."""

    async def figures(self, now: datetime) -> Dashboard: ...


@resource.get("/api/v1/admin/dashboard",
              "Stations, connectors, sessions, today's totals, V2G, alerts and nodes",
              role=Role.OPERATOR, response=Dashboard)
async def dashboard(call: Call) -> web.Response:
    source = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(source, DashboardSource):
        raise NotConfigured("dashboard")
    return json_response(await source.figures(call.ctx.clock()))
