"""The GraphQL listener: POST /graphql, graphql-transport-ws on /graphql, SDL on GET."""

from __future__ import annotations

import structlog
from aiohttp import web
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api.context import AppContext
from api.error_codes import failure_of
from api.graphql.context import GraphQLContext
from api.graphql.limits import Limits
from api.graphql.schema import build_schema, sdl
from api.live_feed import EventFeed
from api.services import ApiServices
from sigec_actors.config import Settings
from sigec_actors.errors import SigecError
from sigec_actors.http_guard import (
    ConnectionGuard,
    GuardedSite,
    http_connection_cap,
    raise_fd_limit,
)

log = structlog.get_logger("api.graphql")
PATH = "/graphql"


class SigecGraphQLView(GraphQLView[GraphQLContext, None]):
    """strawberry's aiohttp view with our context and the connection_init token check."""

    def __init__(self, app_ctx: AppContext, feed: EventFeed | None, limits: Limits) -> None:
        super().__init__(build_schema(limits), graphql_ide=None, allow_queries_via_get=False,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        self.app_ctx = app_ctx
        self.services = ApiServices(app_ctx)
        self.feed = feed

    async def get_context(self, request: web.Request,
                          response: web.Response | web.WebSocketResponse) -> GraphQLContext:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        return GraphQLContext(self.app_ctx, self.services, self.feed, token=bearer or None,
                              ip=request.remote)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """A subscription connection needs a valid token (header or connection_init)."""
        try:
            await context.caller()
        except SigecError as exc:
            failure = failure_of(exc)
            code = failure.code if failure else "INTERNAL"
            raise ConnectionRejectionError({"code": code}) from None
        ack: UnsetType = UNSET
        return ack


def create_graphql_app(ctx: AppContext, feed: EventFeed | None) -> web.Application:
    """The aiohttp application serving the schema at /graphql."""
    server = ctx.settings.server
    view = SigecGraphQLView(ctx, feed, Limits(server.graphql_max_depth, server.graphql_max_cost))
    schema_text = sdl(view.schema)  # type: ignore[arg-type]

    async def schema_file(_: web.Request) -> web.Response:
        return web.Response(text=schema_text, content_type="application/graphql")

    app = web.Application(client_max_size=256 * 1024)
    app.router.add_route("GET", PATH + "/schema.graphql", schema_file)
    app.router.add_route("*", PATH, view)
    return app


async def start_graphql(ctx: AppContext, feed: EventFeed | None,
                        settings: Settings) -> tuple[web.AppRunner, int]:
    """Listen on server.graphql_port (SO_REUSEPORT, like REST); the runner and the port."""
    server = settings.server
    guard = ConnectionGuard(http_connection_cap(server.http_max_connections, raise_fd_limit()),
                            server.http_max_connections_per_ip)
    runner = web.AppRunner(create_graphql_app(ctx, feed), access_log=None, handle_signals=False,
                           shutdown_timeout=2.0, keepalive_timeout=server.http_header_timeout_s)
    await runner.setup()
    site = GuardedSite(runner, server.bind, server.graphql_port, guard)
    await site.start()
    log.info("graphql_listening", port=site.port)
    return runner, site.port
