"""One node: its actor tree, the OCPP gateway and the REST API on one event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from api.app import create_app
from api.context import AppContext
from api.surfaces import Surfaces
from sigec_actors.adapters.nats_bus import ensure_streams
from sigec_actors.adapters.outbox import PgOutbox
from sigec_actors.adapters.outbox_prune import OutboxPruner
from sigec_actors.bootstrap import Services
from sigec_actors.config import Settings
from sigec_actors.http_guard import (
    ConnectionGuard,
    GuardedSite,
    http_connection_cap,
    raise_fd_limit,
)
from sigec_actors.jobs import Jobs, every
from sigec_actors.logs import step
from sigec_actors.node_tree import NodeTree
from sigec_actors.node_wiring import NodeWiring
from sigec_actors.outbox_actor import backlog_gauges, relay_actor
from sigec_actors.readiness import OutboxWatch, readiness_checks
from sigec_actors.runtime import ActorSystem

log = structlog.get_logger("node")


@dataclass(frozen=True)
class NodeEndpoints:
    """Where this node listens, as URLs a client can use."""

    http_url: str
    ocpp_url: str
    graphql_url: str | None = None  # None: server.graphql_enabled is false
    grpc_url: str | None = None  # host:port (None: server.grpc_enabled is false)


class Node:
    """Owns the node's listeners; `start` binds them, `stop` closes them in reverse order."""

    def __init__(self, settings: Settings, services: Services, name: str) -> None:
        self.settings = settings
        self.services = services
        self.name = name
        self.first_admin_notice: dict[str, Any] | None = None
        self._runner: web.AppRunner | None = None
        self.app_context = AppContext(settings=settings)
        self.actors = ActorSystem(name=name,
                                  recent_messages=settings.log.actor_recent_messages)
        self.tree: NodeTree | None = None
        self.jobs = Jobs()
        self.wiring: NodeWiring | None = None
        self.surfaces: Surfaces | None = None

    async def prepare(self) -> None:
        """Apply migrations and create the first admin (idempotent; safe from several nodes)."""
        from sigec_actors.setup import ensure_first_admin, migrate

        await migrate(self.services)
        with step(log, "streams_ready") as info:
            info["streams"] = await ensure_streams(self.services.require_nats().jetstream())
        self.first_admin_notice = await ensure_first_admin(self.settings, self.services)

    async def start(self) -> NodeEndpoints:
        """Start the actor tree, the OCPP gateway and the REST API; return the endpoints."""
        pool, nc = self.services.require_pool(), self.services.require_nats()
        with step(log, "actor_tree_started", node=self.name):  # with the outbox relay
            self.tree = await NodeTree.start(self.actors, self.name,
                                             outbox_relay=relay_actor(pool, nc))
        nats = self.settings.nats
        if nats.outbox_prune_interval_s > 0:
            pruner = OutboxPruner(PgOutbox(pool), retention_s=nats.outbox_retention_s)
            self.jobs.spawn("outbox-prune", every(
                nats.outbox_prune_interval_s, pruner.prune_once, job="outbox-prune",
                first_after_s=0))
        self.wiring = NodeWiring(self.settings, self.services, self.tree, self.actors)
        self.wiring.fill(self.app_context)
        await self.wiring.start()
        outbox = PgOutbox(pool)
        self.app_context.readiness = readiness_checks(self.services, OutboxWatch(
            outbox.backlog, self.tree.outbox_running, nats.outbox_max_age_s))
        self.wiring.metrics.async_scrape_hooks.append(backlog_gauges(outbox))
        server = self.settings.server
        with step(log, "ocpp_listening") as info:
            ocpp_port = await self.wiring.gateway.start(server.bind, server.ocpp_port)
            info["port"] = ocpp_port
            if self.wiring.tls:
                info["tls_port"] = await self.wiring.gateway.start(
                    server.bind, server.ocpp_tls_port, tls=True)
        with step(log, "http_listening") as info:
            http_port = await self._start_http(info)
        self.surfaces = Surfaces(self.app_context, self.settings, self.services.nats)
        ports = await self.surfaces.start()  # GraphQL and gRPC (issue 21)
        host = self.public_host()
        return NodeEndpoints(
            http_url=f"http://{host}:{http_port}", ocpp_url=f"ws://{host}:{ocpp_port}/ocpp",
            graphql_url=f"http://{host}:{ports.graphql}/graphql" if ports.graphql else None,
            grpc_url=f"{host}:{ports.grpc}" if ports.grpc else None)

    async def _start_http(self, info: dict[str, Any]) -> int:
        """The REST listener: headers within http_header_timeout_s (aiohttp's keep-alive timer
        runs from the connection's start and after each response, and closes a connection
        still waiting for a complete request), connections bounded per address and in total."""
        server = self.settings.server
        guard = ConnectionGuard(http_connection_cap(server.http_max_connections,
                                                    raise_fd_limit()),
                                server.http_max_connections_per_ip)
        self._runner = web.AppRunner(create_app(self.app_context), access_log=None,
                                     handle_signals=False, shutdown_timeout=2.0,
                                     keepalive_timeout=server.http_header_timeout_s)
        await self._runner.setup()
        site = GuardedSite(self._runner, server.bind, server.http_port, guard)
        await site.start()
        info.update(port=site.port, max_connections=guard.max_total,
                    max_connections_per_ip=guard.max_per_ip)
        return site.port

    def public_host(self) -> str:
        server = self.settings.server
        if server.public_host:
            return server.public_host
        return "127.0.0.1" if server.bind in ("0.0.0.0", "", "::") else server.bind

    async def stop(self) -> None:
        """Stop accepting, close station connections, stop the actor tree, flush, close."""
        if self.wiring is not None:
            await self.wiring.gateway.stop()  # normal close to every station first
        if self.surfaces is not None:
            await self.surfaces.stop()
            self.surfaces = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.tree is not None:
            await self.actors.shutdown()
            self.tree = None
        if self.wiring is not None:
            await self.wiring.aclose()  # flush last-seen times and best-effort events
            self.wiring = None
        await self.jobs.stop()
