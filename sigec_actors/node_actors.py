"""The operator's view of the actor tree: this node's, or the whole cluster's, with actions
on any node's actors forwarded over NATS request/reply (`sigec.node.<name>.actors`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import structlog

from sigec_actors.domain.errors import BusError
from sigec_actors.ports import BusMessage, EventBus, Subscription
from sigec_actors.runtime import ActorSystem
from sigec_actors.runtime.errors import ActorNotFound
from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot

log = structlog.get_logger("node.actors")
FORWARD_TIMEOUT_S = 5.0

TreeSource = Callable[[], Awaitable[msgspec.Struct]]
"""Returns the whole cluster tree (director -> nodes -> actors)."""


class ActorAction(msgspec.Struct, frozen=True):
    """An operator action forwarded to the node running the actor; `by` (the operator's user
    id) is required for restart and stop, which that node refuses without it."""

    action: Literal["restart", "stop", "detail"]
    path: str
    by: str | None = None


class ActorActionReply(msgspec.Struct, frozen=True):
    ok: bool
    error: str | None = None
    detail: ActorDetail | None = None  # the answer to "detail"


def actors_subject(node: str) -> str:
    """Where node `node` takes operator actions on its actors."""
    return f"sigec.node.{node}.actors"


class NodeActorsView:
    """ActorsView of one node; `cluster_tree` (when hosted) widens `tree()` to the cluster."""

    def __init__(self, system: ActorSystem, bus: EventBus | None = None,
                 cluster_tree: TreeSource | None = None) -> None:
        self.system = system
        self.bus = bus
        self.cluster_tree = cluster_tree
        self._subscription: Subscription | None = None

    def snapshot(self) -> ActorSnapshot:
        """This node's tree (for metrics: mailbox depths, restarts)."""
        return self.system.snapshot()

    async def tree(self) -> msgspec.Struct:
        """The tree an operator sees: the cluster's when hosted, else this node's."""
        if self.cluster_tree is not None:
            return await self.cluster_tree()
        return self.system.snapshot()

    async def restart(self, path: str, *, by: str | None = None) -> None:
        await self._act(ActorAction("restart", path, by))

    async def stop(self, path: str, *, by: str | None = None) -> None:
        await self._act(ActorAction("stop", path, by))

    async def detail(self, path: str) -> ActorDetail:
        """The actor at `path` (on whichever node runs it) with its recent messages."""
        detail = await self._act(ActorAction("detail", path))
        if detail is None:
            raise ActorNotFound(path)
        return detail

    async def _act(self, action: ActorAction) -> ActorDetail | None:
        node = action.path.strip("/").split("/", 1)[0]
        if node == self.system.name or self.bus is None:
            return await self._local(action)
        try:
            raw = await self.bus.request(actors_subject(node), msgspec.json.encode(action),
                                         FORWARD_TIMEOUT_S)
        except BusError as exc:  # no such node (NoResponders) or it did not answer
            raise ActorNotFound(action.path) from exc
        reply = msgspec.json.decode(raw, type=ActorActionReply)
        if not reply.ok:
            raise ActorNotFound(action.path)
        return reply.detail

    async def _local(self, action: ActorAction) -> ActorDetail | None:
        if action.action == "detail":
            return self.system.detail(action.path)
        operation = self.system.restart if action.action == "restart" else self.system.stop
        await operation(action.path, by=action.by)
        return None

    async def serve(self) -> None:
        """Answer other nodes' forwarded actions on this node's actors."""
        if self.bus is not None:
            self._subscription = await self.bus.subscribe(
                actors_subject(self.system.name), self._on_request)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _on_request(self, msg: BusMessage) -> bytes:
        try:
            action = msgspec.json.decode(msg.data, type=ActorAction)
        except msgspec.DecodeError as exc:
            return msgspec.json.encode(ActorActionReply(ok=False, error=str(exc)))
        if action.action != "detail" and not action.by:
            log.warning("actor_action_without_caller", action=action.action, path=action.path)
            return msgspec.json.encode(ActorActionReply(ok=False, error="no caller"))
        try:
            detail = await self._local(action)
        except ActorNotFound:
            return msgspec.json.encode(ActorActionReply(ok=False, error="not found"))
        if action.action != "detail":
            log.info("actor_action_forwarded", action=action.action, path=action.path,
                     by=action.by)
        return msgspec.json.encode(ActorActionReply(ok=True, detail=detail))
