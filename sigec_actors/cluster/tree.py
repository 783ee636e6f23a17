"""The cluster tree: director -> NodeHosts -> each node's actor tree, as one JSON document."""

from __future__ import annotations

import msgspec

from sigec_actors.runtime.snapshot import ActorSnapshot


class ClusterTree(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """ActorSnapshot's JSON shape plus `pid` and `host` on the director and node entries.

    A client that only knows ActorSnapshot decodes this unchanged (it ignores the extra keys).
    """

    path: str
    kind: str
    state: str
    mailbox_depth: int = 0
    processed: int = 0
    restarts: int = 0
    uptime_s: float = 0.0
    last_error: str | None = None
    children: list[ClusterTree] = msgspec.field(default_factory=list)
    pid: int | None = None
    host: str | None = None


def from_snapshot(snapshot: ActorSnapshot) -> ClusterTree:
    """A node's runtime snapshot; paths stay node-local (`/node-1/charge-points/CP1`), which is
    what that node's ActorSystem.restart/stop take."""
    return ClusterTree(
        path=snapshot.path, kind=snapshot.kind, state=snapshot.state,
        mailbox_depth=snapshot.mailbox_depth, processed=snapshot.processed,
        restarts=snapshot.restarts, uptime_s=snapshot.uptime_s, last_error=snapshot.last_error,
        children=[from_snapshot(child) for child in snapshot.children])


def decode_snapshot(data: bytes) -> ActorSnapshot | None:
    """A NodeSnapshot's payload: the node's ActorSnapshot JSON, or None (b"null")."""
    return msgspec.json.decode(data, type=ActorSnapshot | None)


_ENCODER = msgspec.json.Encoder()


def encode(tree: ClusterTree) -> bytes:
    return _ENCODER.encode(tree)


def decode(data: bytes) -> ClusterTree:
    return msgspec.json.decode(data, type=ClusterTree)


def find(tree: ClusterTree, kind: str) -> list[ClusterTree]:
    """Every entry of `kind` in the tree, depth first (tests and the console)."""
    found = [tree] if tree.kind == kind else []
    for child in tree.children:
        found.extend(find(child, kind))
    return found
