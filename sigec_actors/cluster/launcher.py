"""`sigec serve` with workers > 0 (the director's machine) and `sigec serve --join` (a member)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import structlog

from sigec_actors.bootstrap import Services, start_data_plane
from sigec_actors.cluster.bind import use_address
from sigec_actors.cluster.client import ClusterError, ThespianClient
from sigec_actors.cluster.messages import (
    CAP_HOST,
    CAP_NODE,
    CAP_WORKERS,
    ClusterStarted,
    ClusterStartFailed,
    NodeInfo,
    StartCluster,
    StopCluster,
    WatchLauncher,
)
from sigec_actors.cluster.procs import ProcessWatch
from sigec_actors.config import Settings, check_cluster_address
from sigec_actors.node import Node, NodeEndpoints
from sigec_actors.payments.fake_stripe import FakeStripe
from sigec_actors.payments.wiring import fake_extra, start_fake

log = structlog.get_logger("cluster.launcher")

EXIT_ESCALATED = 1


def host_id(bind: str, admin_port: int) -> str:
    """A member's unique name in the convention: `hostname/bind:admin port`."""
    return f"{socket.gethostname()}/{bind}:{admin_port}"


def capabilities(admin_port: int, host: str, workers: int,
                 convention: tuple[str, int] | None = None) -> dict[str, Any]:
    """thespian capabilities of this machine's ActorSystem (placement uses the sigec-* ones)."""
    caps: dict[str, Any] = {"Admin Port": admin_port, CAP_NODE: workers > 0, CAP_HOST: host,
                            CAP_WORKERS: workers,
                            "Process Startup Method": "fork"}  # children inherit bind.apply()
    if convention is not None:
        caps["Convention Address.IPv4"] = convention
    return caps


def prepare_environment(settings: Settings, bind: str) -> None:
    """Before the ActorSystem forks: bind thespian to `bind`, keep its log in the data dir."""
    check_cluster_address("cluster.bind", bind, settings.cluster.allow_network)
    use_address(bind)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("THESPLOG_FILE", str(settings.data_dir / "thespian.log"))


def free_port(bind: str) -> int:
    with socket.socket() as sock:
        sock.bind((bind, 0))
        return int(sock.getsockname()[1])


def with_fixed_ports(settings: Settings) -> Settings:
    """Every node binds the same ports (SO_REUSEPORT), so port 0 is chosen once, here."""
    server = settings.server
    http = server.http_port or free_port(server.bind)
    ocpp = server.ocpp_port or free_port(server.bind)
    graphql = server.graphql_port or (free_port(server.bind) if server.graphql_enabled else 0)
    grpc = server.grpc_port or (free_port(server.bind) if server.grpc_enabled else 0)
    return msgspec.structs.replace(settings, server=msgspec.structs.replace(
        server, http_port=http, ocpp_port=ocpp, graphql_port=graphql, grpc_port=grpc))


def with_urls(settings: Settings, services: Services) -> Settings:
    """Settings for the nodes: the data plane this process started or connected to."""
    return msgspec.structs.replace(
        settings,
        database=msgspec.structs.replace(settings.database, url=services.database_url),
        nats=msgspec.structs.replace(settings.nats, url=services.nats_url))


def parse_leader(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(f"--join wants HOST:PORT (the director's admin port), got {text!r}")
    return host, int(port)


def _on_signals(stop: asyncio.Event) -> Callable[[], None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def remove() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return remove


async def _first(stop: asyncio.Event, escalated: asyncio.Future[str]) -> str | None:
    """Wait for a stop request or an escalation; return the escalation reason, if any."""
    waiter: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    either: set[asyncio.Future[Any]] = {waiter, escalated}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    return escalated.result() if escalated.done() else None


class ClusterLauncher:
    """The director's machine: ActorSystem + CsmsDirector, N NodeHosts, stop leaving nothing."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.bind = settings.cluster.bind
        self.admin_port = settings.cluster.admin_port
        self.host = host_id(self.bind, self.admin_port)
        self.max_restarts = settings.cluster.max_restarts
        self.within_s = settings.cluster.within_s
        workers = settings.server.workers
        self.client = ThespianClient(capabilities(self.admin_port, self.host, workers))
        self.started: ClusterStarted | None = None
        self.processes = ProcessWatch()

    async def open(self) -> None:
        """Start the ActorSystem and the director (forks the admin: do it before anything else)."""
        prepare_environment(self.settings, self.bind)
        await self.client.open()
        await self.client.tell(WatchLauncher(os.getpid()))  # killed while starting: no orphans
        log.info("cluster_system_started", admin_port=self.admin_port, bind=self.bind)

    async def start(self, node_settings: Settings) -> ClusterStarted:
        """Start the nodes; return when every local node reported ready."""
        message = StartCluster(settings=node_settings, workers=self.settings.server.workers,
                               host=self.host, max_restarts=self.max_restarts,
                               within_s=self.within_s, launcher_pid=os.getpid())
        reply = await self.client.request(message, message.start_timeout_s + 5.0)
        if isinstance(reply, ClusterStartFailed):
            raise ClusterError(f"cluster did not start: {reply.reason}")
        assert isinstance(reply, ClusterStarted)
        self.started = reply
        self.processes.add(reply.admin_pid, reply.director_pid, *(n.pid for n in reply.nodes))
        assert self.client.escalated is not None
        self.processes.on_exit(reply.director_pid, self._director_died)
        return reply

    def _director_died(self) -> None:
        escalated = self.client.escalated
        if escalated is not None and not escalated.done():
            escalated.set_result("the director process exited")

    def node_restarted(self, nodes: list[NodeInfo]) -> None:
        """The director restarted a node: watch its new process (stop kills it if need be)."""
        self.processes.add(*(node.pid for node in nodes))

    async def stop(self, timeout_s: float) -> None:
        """Stop the nodes gracefully, then the ActorSystem; kill (by pid) what is left.

        Each step runs even when the one before failed: nothing may outlive `serve`."""
        self.client.on_nodes = None
        try:
            self.processes.stop_watching()
            if self.client.system is not None and self.client.director is not None:
                try:
                    reply = await self.client.request(
                        StopCluster(self.client.next_ref(), timeout_s * 0.6), timeout_s * 0.7)
                    self.processes.add(*reply.pids)
                except ClusterError as exc:
                    log.warning("cluster_stop_unanswered", error=str(exc))
        finally:
            try:
                await self.client.close(shutdown=True)
            finally:
                await self.processes.reap(timeout_s=2.0)


async def serve_cluster(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run the director's machine until SIGTERM/SIGINT; exit code 1 if the director escalated."""
    stop = stop or asyncio.Event()
    settings = with_fixed_ports(settings)
    launcher = ClusterLauncher(settings)
    services: Services | None = None
    reason: str | None = None
    remove_handlers: Callable[[], None] | None = None
    fake: FakeStripe | None = None
    try:
        await launcher.open()  # before the signal handlers and the data plane: the admin forks
        remove_handlers = _on_signals(stop)
        services = await start_data_plane(settings)
        node_settings, fake = await start_fake(settings)  # payments.provider = fake
        prep = Node(settings, services, name="director")
        await prep.prepare()
        started = await launcher.start(with_urls(node_settings, services))
        launcher.client.on_nodes = _runtime_writer(
            settings, services, launcher, fake_extra(fake, started.nodes[0].http_url))
        launcher.client.on_nodes(started.nodes)
        endpoints = endpoints_of(started.nodes[0])
        _print_banner(settings, launcher, endpoints, prep.first_admin_notice)
        assert launcher.client.escalated is not None
        reason = await _first(stop, launcher.client.escalated)
    finally:
        await _stop_everything(settings, launcher, services)
        if fake is not None:
            await fake.stop()
        if remove_handlers is not None:
            remove_handlers()
    if reason is not None:
        log.error("cluster_escalated", reason=reason)
        return EXIT_ESCALATED
    log.info("stopped")
    return 0


def endpoints_of(node: NodeInfo) -> NodeEndpoints:
    return NodeEndpoints(node.http_url, node.ocpp_url, node.graphql_url, node.grpc_url)


def _runtime_writer(settings: Settings, services: Services, launcher: ClusterLauncher,
                    extra: dict[str, str] | None = None) -> Callable[[list[NodeInfo]], None]:
    """runtime.json for this host's nodes; written at start and again after every restart."""
    from sigec_actors import server

    def write(nodes: list[NodeInfo]) -> None:
        launcher.node_restarted(nodes)
        if not nodes:
            return
        endpoints = endpoints_of(nodes[0])  # one port for all
        try:
            server.write_runtime(settings, services, endpoints, extra={
                "adminPort": launcher.admin_port, "clusterBind": launcher.bind,
                "nodes": [msgspec.to_builtins(n) for n in nodes], **(extra or {})})
        except OSError as exc:
            log.error("runtime_file_not_written", error=str(exc))
    return write


async def _stop_everything(settings: Settings, launcher: ClusterLauncher,
                           services: Services | None) -> None:
    """The cluster, then the data plane; the second runs even if the first raised."""
    from sigec_actors import server

    launcher.client.on_nodes = None  # no runtime.json after this point
    try:
        with contextlib.suppress(FileNotFoundError):
            server.runtime_file(settings).unlink()
        await launcher.stop(settings.server.shutdown_timeout_s * 0.6)
    finally:
        if services is not None:
            await services.close()


async def join_cluster(settings: Settings, leader: str,
                       stop: asyncio.Event | None = None) -> int:
    """Join the director's convention at `leader` (HOST:PORT) and host the nodes it places here."""
    stop = stop or asyncio.Event()
    leader_addr = parse_leader(leader)
    check_cluster_address("--join", leader_addr[0], settings.cluster.allow_network)
    bind = settings.cluster.bind
    admin_port = settings.cluster.admin_port
    workers = settings.server.workers or os.cpu_count() or 1
    prepare_environment(settings, bind)
    client = ThespianClient(capabilities(admin_port, host_id(bind, admin_port), workers,
                                         convention=leader_addr))
    await client.open(create_director=False)
    remove_handlers = _on_signals(stop)
    print(f"SIGEC-VE member: joined {leader} from {bind}:{admin_port}, hosting up to "
          f"{workers} nodes (stop: Ctrl-C)", file=sys.stdout, flush=True)
    try:
        await stop.wait()
    finally:
        await client.close(shutdown=True)
        remove_handlers()
    return 0


def _print_banner(settings: Settings, launcher: ClusterLauncher, endpoints: NodeEndpoints,
                  admin: dict[str, Any] | None) -> None:
    from sigec_actors.server import surface_lines

    started = launcher.started
    pids = ", ".join(str(n.pid) for n in started.nodes) if started else ""
    lines = [
        "",
        f"SIGEC-VE is running: {settings.server.workers} node processes (pids {pids})",
        f"  REST API : {endpoints.http_url}/api/v1   (health: {endpoints.http_url}/health/ready)",
        f"  OCPP     : {endpoints.ocpp_url}/{{stationId}}   (subprotocol ocpp2.0.1)",
        *surface_lines(endpoints),
        f"  cluster  : thespian admin on {launcher.bind}:{launcher.admin_port} "
        f"(join with: sigec serve --join {launcher.bind}:{launcher.admin_port})",
        f"  data dir : {settings.data_dir}",
    ]
    if admin is not None:
        lines.append(f"  admin    : {admin['email']}")
        if admin.get("password"):
            lines.append(f"  password : {admin['password']}   (shown once; change it after login)")
    lines.append("  stop     : Ctrl-C")
    print("\n".join(lines), file=sys.stdout, flush=True)
