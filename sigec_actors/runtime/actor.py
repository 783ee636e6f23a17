"""The Actor base class: subclass it and implement `receive`; the runtime does the rest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from sigec_actors.runtime.context import ActorContext
    from sigec_actors.runtime.spec import ExitReason

M = TypeVar("M")


class Actor(Generic[M]):
    """An actor handles one message of type M at a time in its own asyncio task.

    The runtime sets `self.ctx` before `on_start`, so use it there and later, not in `__init__`.
    A factory builds a fresh instance for every (re)start: keep durable state in storage, not in
    the instance. Raising from any hook crashes the actor; its supervisor decides what follows.
    """

    __slots__ = ("ctx",)
    ctx: ActorContext[M]

    async def on_start(self) -> None:
        """Called in the actor's task before the first message."""

    async def receive(self, msg: M) -> Any:
        """Handle one message; the return value is the reply to an ask (a tell discards it)."""
        raise NotImplementedError

    async def on_stop(self, reason: ExitReason) -> None:
        """Called after the last message (not after a failed on_start, nor when killed)."""

    def state_summary(self) -> str:
        """One short line for snapshots and the console; must be cheap and not raise."""
        return ""

    def _child_contexts(self) -> Iterable[ActorContext[Any]]:
        """Children in start order (supervisors override it)."""
        return ()
