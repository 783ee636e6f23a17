"""Pure bookkeeping of the director: node slots, tree fan-outs and the stop barrier."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sigec_actors.cluster import tree as trees
from sigec_actors.cluster.messages import NodeInfo
from sigec_actors.cluster.tree import ClusterTree


@dataclass
class Slot:
    """One node the director keeps running: its name survives restarts, its address does not."""

    name: str
    host: str
    address: Any = None
    info: NodeInfo | None = None
    restarts: int = 0
    stopping: bool = False
    last_error: str | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def state(self) -> str:
        if self.stopping:
            return "stopping"
        return "running" if self.info is not None else "starting"

    def entry(self, now: float, answered: bool, snapshot: ClusterTree | None) -> ClusterTree:
        """This node as a tree entry, with its actor tree (if it sent one) as the child."""
        return ClusterTree(
            path=f"/director/{self.name}", kind="NodeHost",
            state=self.state if answered or self.info is None else "unresponsive",
            restarts=self.restarts, uptime_s=round(now - self.started_at, 3),
            last_error=self.last_error, children=[snapshot] if snapshot is not None else [],
            pid=self.info.pid if self.info else None, host=self.host)


def find_slot(slots: list[Slot], address: Any) -> Slot | None:
    """ActorAddresses compare by value but are not hashable: a linear search over a few nodes."""
    for slot in slots:
        if slot.address is not None and slot.address == address:
            return slot
    return None


@dataclass
class TreeFanout:
    """One tree request in flight: who asked, and the node snapshots received so far."""

    requester: Any
    requester_ref: int
    waiting: set[str]
    received: dict[str, ClusterTree | None] = field(default_factory=dict)

    def add(self, name: str, snapshot_json: bytes) -> bool:
        """Record one node's answer; True when every node has answered."""
        snapshot = trees.decode_snapshot(snapshot_json)
        self.received[name] = trees.from_snapshot(snapshot) if snapshot is not None else None
        self.waiting.discard(name)
        return not self.waiting

    def build(self, root: ClusterTree, slots: list[Slot], now: float) -> ClusterTree:
        children = [slot.entry(now, slot.name in self.received, self.received.get(slot.name))
                    for slot in slots]
        return ClusterTree(
            path=root.path, kind=root.kind, state=root.state, restarts=root.restarts,
            uptime_s=root.uptime_s, last_error=root.last_error, children=children,
            pid=root.pid, host=root.host)


@dataclass
class StopBarrier:
    """A StopCluster in flight: done when every node stopped (or exited)."""

    requester: Any
    ref: int
    waiting: set[str]
    pids: list[int]

    def done(self, name: str) -> bool:
        self.waiting.discard(name)
        return not self.waiting
