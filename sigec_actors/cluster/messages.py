"""Control messages of the launcher, the CsmsDirector and the NodeHosts (thespian pickles them)."""

from __future__ import annotations

from typing import Any

import msgspec

from sigec_actors.config import Settings

# Capabilities a convention member advertises (see launcher.capabilities).
CAP_NODE = "sigec-node"
"""True on an ActorSystem that accepts NodeHosts."""
CAP_HOST = "sigec-host"
"""Unique name of a member (host:admin port); NodeHosts are placed by it."""
CAP_WORKERS = "sigec-workers"
"""How many NodeHosts the member wants."""
DIRECTOR_NAME = "sigec-director"
"""The director's thespian globalName: a client on the admin port finds it by this name."""


class NodeSpec(msgspec.Struct, frozen=True):
    """What a NodeHost needs to run one node: resolved URLs in `settings`, never embedded."""

    name: str
    host: str
    settings: Settings


class NodeInfo(msgspec.Struct, frozen=True):
    name: str
    host: str
    pid: int
    http_url: str
    ocpp_url: str
    graphql_url: str | None = None
    grpc_url: str | None = None


# launcher -> director -----------------------------------------------------------------------

class StartCluster(msgspec.Struct, frozen=True):
    """Start `workers` nodes on `host` (this machine); the sender gets `Escalated` notices."""

    settings: Settings
    workers: int
    host: str
    max_restarts: int = 5
    within_s: float = 60.0
    start_timeout_s: float = 30.0
    launcher_pid: int = 0
    """`sigec serve`'s pid: if it dies without stopping the cluster (SIGKILL), the director
    ends the daemonized thespian processes of this host rather than leave them running."""


class WatchLauncher(msgspec.Struct, frozen=True):
    """Sent right after the director is created: end this host's thespian processes if
    `launcher_pid` dies, even before StartCluster (a serve killed while it starts)."""

    launcher_pid: int


class ClusterStarted(msgspec.Struct, frozen=True):
    director_pid: int
    admin_pid: int
    nodes: list[NodeInfo]


class ClusterStartFailed(msgspec.Struct, frozen=True):
    reason: str


class NodesChanged(msgspec.Struct, frozen=True):
    """A node of this host was restarted (new pid): the launcher rewrites runtime.json."""

    nodes: list[NodeInfo]


class Escalated(msgspec.Struct, frozen=True):
    """The director gave up (restart intensity exceeded): `serve` must stop and exit non-zero."""

    reason: str


class GetTree(msgspec.Struct, frozen=True):
    """Ask for the whole tree (director -> nodes -> actors); answered with `Tree`."""

    ref: int
    timeout_s: float = 2.0


class Tree(msgspec.Struct, frozen=True):
    ref: int
    json: bytes
    """ClusterTree as JSON (see tree.py)."""


class StopCluster(msgspec.Struct, frozen=True):
    """Stop every node gracefully (drain); answered with `ClusterStopped` once all stopped."""

    ref: int
    timeout_s: float = 8.0


class ClusterStopped(msgspec.Struct, frozen=True):
    ref: int
    pids: list[int]
    """Processes of the nodes that ran (the launcher checks they are gone)."""


# director <-> NodeHost ------------------------------------------------------------------------

class StartNode(msgspec.Struct, frozen=True):
    spec: NodeSpec


class NodeStarted(msgspec.Struct, frozen=True):
    info: NodeInfo


class NodeFailed(msgspec.Struct, frozen=True):
    """The node could not start or its event loop ended with an error (the host then exits)."""

    name: str
    reason: str


class SnapshotNode(msgspec.Struct, frozen=True):
    ref: int


class NodeSnapshot(msgspec.Struct, frozen=True):
    ref: int
    name: str
    json: bytes
    """The node's runtime ActorSnapshot as JSON, or b"null" when it has no actor system yet."""


class StopNode(msgspec.Struct, frozen=True):
    pass


class NodeStopped(msgspec.Struct, frozen=True):
    name: str


# NodeHost -> director, on behalf of its node (GET /api/v1/admin/actors) -----------------------

class NodeGetTree(msgspec.Struct, frozen=True):
    """A node's request for the whole tree; the director answers `Tree` with the same ref."""

    ref: int
    timeout_s: float = 2.0


ControlMessage = Any
"""Anything above; thespian delivers them untyped."""
