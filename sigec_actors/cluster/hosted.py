"""The asyncio side of a NodeHost: data plane connections and the Node, on the loop thread."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import structlog

from sigec_actors.bootstrap import Services, start_data_plane
from sigec_actors.cluster import tree as trees
from sigec_actors.cluster.messages import (
    NodeGetTree,
    NodeInfo,
    NodeSnapshot,
    NodeSpec,
    NodeStarted,
)
from sigec_actors.cluster.tree import ClusterTree
from sigec_actors.config import Settings
from sigec_actors.node import Node, NodeEndpoints
from sigec_actors.runtime import ActorSystem

log = structlog.get_logger("cluster.node")

CLUSTER_EXTRA = "cluster"
"""Key of the ClusterControl in `node.app_context.extras` (GET /api/v1/admin/actors uses it)."""

_LOCAL_ENV: Mapping[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "NATS_URL": ("nats", "url"),
    "REDIS_URL": ("redis", "url"),
    "SIGEC_BIND": ("server", "bind"),
}


NodeFactory = Callable[[Settings, Services, str], Any]
"""Builds the node: `Node(settings, services, name)` by default."""


def local_settings(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """The director's settings with this host's own URLs and bind address, when it sets them.

    On the director's machine the environment is the same, so nothing changes; a host that
    joined with its own DATABASE_URL/NATS_URL/REDIS_URL/SIGEC_BIND uses those.
    """
    for name, (section, key) in _LOCAL_ENV.items():
        value = environ.get(name)
        if value:
            part = msgspec.structs.replace(getattr(settings, section), **{key: value})
            settings = msgspec.structs.replace(settings, **{section: part})
    return settings


def node_snapshot_json(node: Any) -> bytes:
    """The node's runtime tree (`node.actors`, its ActorSystem) as JSON; b"null" without one."""
    system = getattr(node, "actors", None)
    if isinstance(system, ActorSystem):
        return msgspec.json.encode(system.snapshot())
    return b"null"


class ClusterControl:
    """What a hosted node may ask of the cluster (found in `app_context.extras["cluster"]`)."""

    def __init__(self, post: Callable[[Any], None]) -> None:
        self._post = post
        self._refs = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[bytes]] = {}

    async def tree(self, timeout_s: float = 2.0) -> ClusterTree:
        """The whole tree: director -> nodes -> actors; raises TimeoutError if it does not come."""
        ref = next(self._refs)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            self._post(NodeGetTree(ref, timeout_s))
            async with asyncio.timeout(timeout_s + 1.0):
                return trees.decode(await future)
        finally:
            self._waiting.pop(ref, None)

    def deliver(self, ref: int, data: bytes) -> None:
        """On the loop: the director's answer to `tree`."""
        future = self._waiting.get(ref)
        if future is not None and not future.done():
            future.set_result(data)


class HostedNode:
    """Runs one node until asked to stop; `post(message)` sends to the director (via the bridge)."""

    def __init__(self, spec: NodeSpec, post: Callable[[Any], None],
                 factory: NodeFactory = Node) -> None:
        self.spec = spec
        self.settings = local_settings(spec.settings, os.environ)
        self._post = post
        self._factory = factory
        self.control = ClusterControl(post)
        self.node: Any = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Connect, start the node, report NodeStarted, wait for `request_stop`, stop.

        A node that fails half-way through its start is stopped too (its outbox relay holds a
        pooled connection: closing the pool would wait for it forever), so the failure reaches
        the NodeHost at once instead of hanging until the director's start timeout.
        """
        services = await start_data_plane(self.settings)
        try:
            self.node = self._factory(self.settings, services, self.spec.name)
            app_context = getattr(self.node, "app_context", None)
            if app_context is not None:
                app_context.extras[CLUSTER_EXTRA] = self.control
            try:
                endpoints = await self.node.start()
                self._post(self._started(endpoints))
                log.info("node_ready", node=self.spec.name, pid=os.getpid(),
                         http=endpoints.http_url)
                await self._stop.wait()
            finally:
                await self.node.stop()
        finally:
            await services.close()
        log.info("node_stopped", node=self.spec.name)

    def _started(self, endpoints: NodeEndpoints) -> NodeStarted:
        return NodeStarted(NodeInfo(name=self.spec.name, host=self.spec.host, pid=os.getpid(),
                                    http_url=endpoints.http_url, ocpp_url=endpoints.ocpp_url,
                                    graphql_url=endpoints.graphql_url,
                                    grpc_url=endpoints.grpc_url))

    def request_stop(self) -> None:
        """On the loop: begin the graceful stop."""
        self._stop.set()

    def snapshot(self, ref: int) -> None:
        """On the loop: answer the director's SnapshotNode through the bridge."""
        data = node_snapshot_json(self.node) if self.node is not None else b"null"
        self._post(NodeSnapshot(ref, self.spec.name, data))
