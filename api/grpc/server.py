"""The gRPC listener: our three services, the standard health service and reflection."""

from __future__ import annotations

from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.context import AppContext
from api.grpc.proto import sigec_pb2 as pb
from api.grpc.proto import sigec_pb2_grpc as rpc
from api.grpc.services import DeviceService, TransactionService, V2GService
from api.live_feed import EventFeed
from api.services import ApiServices
from sigec_actors.config import Settings
from sigec_actors.config_sections import ServerConfig
from sigec_actors.http_guard import http_connection_cap, raise_fd_limit

log = structlog.get_logger("api.grpc")
SERVICES = tuple(s.full_name for s in pb.DESCRIPTOR.services_by_name.values())
GRACE_S = 2.0


async def start_grpc(ctx: AppContext, feed: EventFeed | None,
                     settings: Settings) -> tuple[grpc.aio.Server, int]:
    """Serve on server.grpc_port (SO_REUSEPORT, so every node shares it); server and port."""
    server = grpc.aio.server(options=server_options(settings.server))
    services = ApiServices(ctx)
    add: Any = rpc  # the generated module has no types
    add.add_DeviceServiceServicer_to_server(DeviceService(ctx, services, feed=feed), server)
    add.add_TransactionServiceServicer_to_server(
        TransactionService(ctx, services, feed=feed), server)
    add.add_V2GServiceServicer_to_server(V2GService(ctx, services), server)
    checks = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    for name in ("", *SERVICES):
        checks.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(f"{_host(settings.server.bind)}:{settings.server.grpc_port}")
    if port == 0:
        raise OSError(f"gRPC cannot listen on {settings.server.bind}:"
                      f"{settings.server.grpc_port}")
    await server.start()
    log.info("grpc_listening", port=port)
    return server, port


def server_options(server: ServerConfig) -> list[tuple[str, int]]:
    """grpc core's bounds on the port, as REST's (issue #13 defect 7): a connection must finish
    its HTTP/2 preface within server.http_header_timeout_s, one with no call in progress is
    closed after as long (a client's channel reconnects by itself), and past the REST
    connection cap (server.http_max_connections within the fd budget) a new connection is
    closed at once. grpc core has no per-address limit: put a proxy in front for one."""
    timeout_ms = max(1, round(server.http_header_timeout_s * 1000))
    return [("grpc.so_reuseport", 1),
            ("grpc.server_handshake_timeout_ms", timeout_ms),
            ("grpc.max_connection_idle_ms", timeout_ms),
            ("grpc.max_allowed_incoming_connections",
             http_connection_cap(server.http_max_connections, raise_fd_limit()))]


async def stop_grpc(server: grpc.aio.Server) -> None:
    """Stop accepting, give running calls GRACE_S seconds (streams are cancelled after)."""
    await server.stop(GRACE_S)


def _host(bind: str) -> str:
    return f"[{bind}]" if ":" in bind else bind
