"""Prometheus metrics of one node, on a registry of its own (never the process-global one)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sigec_actors.runtime.snapshot import ActorSnapshot

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters, gauges and histograms the gateway, actors and API update.

    Each instance owns its CollectorRegistry, so tests can build many apps in one process.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connected_stations = Gauge(
            "sigec_connected_stations", "Stations with an open OCPP connection on this node",
            registry=r)
        self.ocpp_messages = Counter(
            "sigec_ocpp_messages_total", "OCPP messages by direction (in/out) and action",
            ["direction", "action"], registry=r)
        self.call_latency = Histogram(
            "sigec_ocpp_call_latency_seconds", "CSMS-initiated CALL to CALLRESULT/CALLERROR time",
            ["action"], buckets=LATENCY_BUCKETS, registry=r)
        self.mailbox_depth = Gauge(
            "sigec_actor_mailbox_depth", "Queued messages, summed over the actors of a kind",
            ["kind"], registry=r)
        self.mailbox_depth_max = Gauge(
            "sigec_actor_mailbox_depth_max", "Deepest mailbox among the actors of a kind",
            ["kind"], registry=r)
        self.actor_restarts = Gauge(
            "sigec_actor_restarts", "Restarts of the live actors of a kind (from the tree)",
            ["kind"], registry=r)
        self.scrape_hooks: list[Callable[[Metrics], None]] = []
        """Run before each render, e.g. to read the gateway's connection count."""
        self.async_scrape_hooks: list[Callable[[Metrics], Awaitable[None]]] = []
        """Awaited by `refresh` before each render, e.g. to read the outbox backlog."""
        self.outbox_backlog = Gauge(
            "sigec_outbox_backlog", "Outbox events not yet published to JetStream (parked"
            " ones excluded)", registry=r)
        self.outbox_oldest_age = Gauge(
            "sigec_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event"
            " (0 when none waits)", registry=r)
        self.outbox_parked = Gauge(
            "sigec_outbox_parked", "Outbox events parked: the bus can never take them (see"
            " the outbox_parked alerts)", registry=r)
        self.http_requests = Counter(
            "sigec_http_requests_total", "HTTP requests by method, route template and status",
            ["method", "route", "status"], registry=r)
        self.http_latency = Histogram(
            "sigec_http_request_duration_seconds", "HTTP handling time by route template",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)

    def message(self, direction: str, action: str) -> None:
        """Count one OCPP message (`direction` is "in" or "out")."""
        self.ocpp_messages.labels(direction, action).inc()

    def call_answered(self, action: str, seconds: float) -> None:
        self.call_latency.labels(action).observe(seconds)


    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_latency.labels(method, route).observe(seconds)

    def observe_actors(self, root: ActorSnapshot) -> None:
        """Set the mailbox gauges from a tree snapshot (called at scrape time)."""
        total: Tally[str] = Tally()
        restarts: Tally[str] = Tally()
        deepest: dict[str, int] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            total[node.kind] += node.mailbox_depth
            restarts[node.kind] += node.restarts
            deepest[node.kind] = max(deepest.get(node.kind, 0), node.mailbox_depth)
            stack.extend(node.children)
        for kind, depth in total.items():
            self.mailbox_depth.labels(kind).set(depth)
            self.mailbox_depth_max.labels(kind).set(deepest[kind])
            self.actor_restarts.labels(kind).set(restarts[kind])

    def observe_outbox(self, unsent: int, oldest_age_s: float | None, parked: int) -> None:
        """Set the outbox gauges (shared by every node: they read one table)."""
        self.outbox_backlog.set(unsent)
        self.outbox_oldest_age.set(oldest_age_s or 0.0)
        self.outbox_parked.set(parked)

    async def refresh(self) -> None:
        """Run the async scrape hooks (call before `render`)."""
        for hook in self.async_scrape_hooks:
            await hook(self)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        for hook in self.scrape_hooks:
            hook(self)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
