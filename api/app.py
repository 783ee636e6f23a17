"""The aiohttp application: middleware and the route tables of every resource."""

from __future__ import annotations

from aiohttp import web

from api.context import CTX, AppContext
from api.problems import problem_middleware
from api.routes import health


def create_app(ctx: AppContext) -> web.Application:
    """Build the REST application around an AppContext."""
    app = web.Application(middlewares=[problem_middleware], client_max_size=1024 * 1024)
    app[CTX] = ctx
    app.add_routes(health.routes)
    return app
