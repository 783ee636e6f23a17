"""GraphQL and gRPC beside REST on one node: started after REST, stopped before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from api.context import AppContext
from api.live_feed import Bus, EventFeed
from sigec_actors.config import Settings

if TYPE_CHECKING:
    import grpc


@dataclass(frozen=True)
class SurfacePorts:
    """The ports the GraphQL and gRPC listeners bound (None: turned off in config)."""

    graphql: int | None = None
    grpc: int | None = None


class Surfaces:
    """The node's GraphQL and gRPC listeners, sharing one NATS event feed."""

    def __init__(self, ctx: AppContext, settings: Settings, bus: Bus | None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.feed = EventFeed(bus) if bus is not None else None
        self._graphql: web.AppRunner | None = None
        self._grpc: grpc.aio.Server | None = None

    async def start(self) -> SurfacePorts:
        server = self.settings.server
        graphql_port = grpc_port = None
        if server.graphql_enabled:
            from api.graphql.app import start_graphql

            self._graphql, graphql_port = await start_graphql(self.ctx, self.feed,
                                                              self.settings)
        if server.grpc_enabled:
            from api.grpc.server import start_grpc

            self._grpc, grpc_port = await start_grpc(self.ctx, self.feed, self.settings)
        return SurfacePorts(graphql_port, grpc_port)

    async def stop(self) -> None:
        if self._grpc is not None:
            from api.grpc.server import stop_grpc

            await stop_grpc(self._grpc)
            self._grpc = None
        if self._graphql is not None:
            await self._graphql.cleanup()
            self._graphql = None
