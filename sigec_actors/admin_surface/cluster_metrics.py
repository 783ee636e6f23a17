"""/metrics for the whole cluster: every node's families, each sample labelled `node`.

The node that takes the scrape asks the others (`sigec.node.<name>.metrics`, NATS
request/reply) for their families and merges them by family, so the exposition names each
family once. A node that does not answer in time shows as `sigec_node_up{node=...} 0`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import msgspec
import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from sigec_actors.domain.errors import BusError
from sigec_actors.ports import BusMessage, EventBus, Subscription

log = structlog.get_logger("metrics.cluster")
ASK_TIMEOUT_S = 2.0


class Sample(msgspec.Struct, frozen=True, array_like=True):
    name: str
    labels: dict[str, str]
    value: float


class Family(msgspec.Struct, frozen=True):
    name: str
    documentation: str
    type: str
    samples: list[Sample]


def metrics_subject(node: str) -> str:
    return f"sigec.node.{node}.metrics"


def families(registry: CollectorRegistry, node: str) -> list[Family]:
    """The registry's families with `node` added to every sample's labels."""
    return [Family(m.name, m.documentation, m.type,
                   [Sample(s.name, {**s.labels, "node": node}, s.value) for s in m.samples])
            for m in registry.collect()]


class _Merged:
    """A registry-like collector over merged families (what generate_latest renders)."""

    def __init__(self, merged: Iterable[Family]) -> None:
        self._merged = list(merged)

    def collect(self) -> Iterator[Metric]:
        for fam in self._merged:
            metric = Metric(fam.name, fam.documentation, fam.type)
            for s in fam.samples:
                metric.add_sample(s.name, s.labels, s.value)
            yield metric


def render(per_node: dict[str, list[Family] | None]) -> bytes:
    """One exposition of every node's families (None: the node did not answer)."""
    merged: dict[str, Family] = {}
    for node_families in per_node.values():
        for fam in node_families or ():
            seen = merged.get(fam.name)
            merged[fam.name] = fam if seen is None else Family(
                fam.name, fam.documentation, fam.type, [*seen.samples, *fam.samples])
    up = Family("sigec_node_up", "1 when the node answered this scrape", "gauge",
                [Sample("sigec_node_up", {"node": n}, 0.0 if f is None else 1.0)
                 for n, f in sorted(per_node.items())])
    return generate_latest(_Merged([*merged.values(), up]))


class ClusterMetrics:
    """Answers other nodes' asks for this node's families; gathers the cluster's."""

    def __init__(self, node: str, bus: EventBus,
                 nodes: Callable[[], Awaitable[list[str]]]) -> None:
        self.node = node
        self._bus = bus
        self._nodes = nodes
        self._local: Callable[[], Awaitable[list[Family]]] | None = None
        self._subscription: Subscription | None = None

    async def serve(self, local: Callable[[], Awaitable[list[Family]]]) -> None:
        """Answer asks with `local()` (this node's families, scrape hooks run)."""
        self._local = local
        self._subscription = await self._bus.subscribe(metrics_subject(self.node), self._answer)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _answer(self, _msg: BusMessage) -> bytes:
        return msgspec.json.encode(await self._local() if self._local is not None else [])

    async def gather(self) -> bytes:
        """This node's families and those of every other node that reported lately."""
        assert self._local is not None, "serve() first"
        own = await self._local()
        others = [n for n in await self._nodes() if n != self.node]
        answers = await asyncio.gather(*(self._ask(n) for n in others))
        return render({self.node: own, **dict(zip(others, answers, strict=True))})

    async def _ask(self, node: str) -> list[Family] | None:
        try:
            raw = await self._bus.request(metrics_subject(node), b"", ASK_TIMEOUT_S)
            answer: Any = msgspec.json.decode(raw, type=list[Family])
        except (BusError, msgspec.DecodeError) as exc:
            log.warning("metrics_node_silent", node=node, error=type(exc).__name__)
            return None
        return answer if isinstance(answer, list) else None
