"""`sigec serve` with one inline node: data plane, migrations, first admin, node, runtime.json."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import structlog

from sigec_actors.bootstrap import Services, start_data_plane
from sigec_actors.config import Settings
from sigec_actors.dsn import redact
from sigec_actors.logs import step
from sigec_actors.node import Node, NodeEndpoints
from sigec_actors.payments.wiring import fake_extra, start_fake

log = structlog.get_logger("server")


def runtime_file(settings: Settings) -> Path:
    """Where a running server advertises its endpoints."""
    return settings.data_dir / "runtime.json"


def write_runtime(settings: Settings, services: Services, endpoints: NodeEndpoints,
                  extra: dict[str, Any] | None = None) -> Path:
    """Write runtime.json atomically (0600) so tools and the console can find this server."""
    data = {
        "httpUrl": endpoints.http_url,
        "ocppUrl": endpoints.ocpp_url,
        "graphqlUrl": endpoints.graphql_url,  # None when turned off (server.graphql_enabled)
        "grpcUrl": endpoints.grpc_url,
        "databaseUrl": redact(services.database_url),
        "natsUrl": redact(services.nats_url),
        "redisUrl": redact(settings.redis.url) or None,
        "pid": os.getpid(),
        "workers": settings.server.workers,
    }
    data.update(extra or {})  # cluster hook: adminPort, nodes (sigec_actors/cluster/launcher.py)
    path = runtime_file(settings)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    tmp.replace(path)
    return path


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set); return the process exit code."""
    if settings.server.workers > 0:  # cluster hook: director + NodeHost processes
        from sigec_actors.cluster.launcher import serve_cluster

        return await serve_cluster(settings, stop)
    owns_process = stop is None  # the CLI's server: nothing may keep the process after a stop
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("starting", pid=os.getpid(), data_dir=str(settings.data_dir),
             workers=settings.server.workers)
    services = await start_data_plane(settings)
    node: Node | None = None
    fake = None
    try:
        settings, fake = await start_fake(settings)  # payments.provider = fake: one per serve
        node = Node(settings, services, name="node-1")
        await node.prepare()
        endpoints = await node.start()
        write_runtime(settings, services, endpoints, fake_extra(fake, endpoints.http_url))
        _print_banner(settings, endpoints, node.first_admin_notice)
        log.info("ready", http=endpoints.http_url, ocpp=endpoints.ocpp_url)
        await stop.wait()
        log.info("stopping")
    finally:
        if owns_process:
            exit_if_stuck(settings.server.shutdown_timeout_s + FORCED_EXIT_MARGIN_S)
        with contextlib.suppress(FileNotFoundError):
            runtime_file(settings).unlink()
        await _shutdown(node, services, settings.server.shutdown_timeout_s)
        if fake is not None:
            await fake.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0


FORCED_EXIT_MARGIN_S = 2.0
"""Beyond server.shutdown_timeout_s, for the event loop's own clean-up after the shutdown."""


def exit_if_stuck(after_s: float) -> threading.Timer:
    """Exit the process (code 1) if it is still alive `after_s` seconds from now.

    A shutdown that timed out leaves tasks that asyncio.run still cancels and awaits, and
    executor threads that interpreter exit joins; under load these held a stopped server for
    over 15 s. The timer thread is a daemon: a process that exits in time never sees it fire.
    """
    def force() -> None:
        log.error("shutdown_forced", after_s=after_s)
        os._exit(1)

    timer = threading.Timer(after_s, force)
    timer.daemon = True
    timer.start()
    return timer


async def _shutdown(node: Node | None, services: Services, timeout_s: float) -> None:
    with step(log, "shutdown_complete"):
        try:
            async with asyncio.timeout(timeout_s * 0.8):
                if node is not None:
                    await node.stop()
                await services.close()
        except TimeoutError:
            log.warning("shutdown_timed_out", timeout_s=timeout_s)
            if services.embedded_nats is not None:
                services.embedded_nats.stop(timeout_s=1)
            if services.embedded_pg is not None:
                services.embedded_pg.stop()


def surface_lines(endpoints: NodeEndpoints) -> list[str]:
    """The banner's GraphQL and gRPC lines (none for a surface turned off)."""
    lines = []
    if endpoints.graphql_url:
        lines.append(f"  GraphQL  : {endpoints.graphql_url}   "
                     f"(schema: {endpoints.graphql_url}/schema.graphql)")
    if endpoints.grpc_url:
        lines.append(f"  gRPC     : {endpoints.grpc_url}   (reflection and health enabled)")
    return lines


def _print_banner(settings: Settings, endpoints: NodeEndpoints,
                  admin: dict[str, Any] | None) -> None:
    lines = [
        "",
        "SIGEC-VE is running",
        f"  REST API : {endpoints.http_url}/api/v1   (health: {endpoints.http_url}/health/ready)",
        f"  OCPP     : {endpoints.ocpp_url}/{{stationId}}   (subprotocol ocpp2.0.1)",
        *surface_lines(endpoints),
        f"  data dir : {settings.data_dir}",
    ]
    if admin is not None:
        lines.append(f"  admin    : {admin['email']}")
        if admin.get("password"):
            lines.append(f"  password : {admin['password']}   (shown once; change it after login)")
        lines.append(f"  log in   : curl -X POST {endpoints.http_url}/api/v1/auth/login "
                     "-H 'Content-Type: application/json' "
                     "-d '{\"email\": \"...\", \"password\": \"...\"}'")
    lines.append("  stop     : Ctrl-C")
    print("\n".join(lines), file=sys.stdout, flush=True)
