"""ActorRef: the only handle other code holds on an actor; stable across restarts of that actor."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from sigec_actors.runtime.context import ActorContext

M = TypeVar("M")

DEFAULT_ASK_TIMEOUT_S = 5.0


class ActorRef(Generic[M]):
    """Address of one actor slot in the tree.

    The same ref keeps working after its supervisor restarts the actor (messages reach the new
    incarnation); it is dead while the actor is stopped, and for good once the child is removed.
    """

    __slots__ = ("_ctx",)

    def __init__(self, ctx: ActorContext[M]) -> None:
        self._ctx = ctx

    @property
    def path(self) -> str:
        """Stable, readable path such as `/node-1/charge-points/CP-001`."""
        return self._ctx.path

    @property
    def key(self) -> str:
        """The last path segment: the key in the parent supervisor."""
        return self._ctx.key

    @property
    def alive(self) -> bool:
        """True while an incarnation runs and accepts messages."""
        return self._ctx.accepting

    def tell(self, msg: M) -> None:
        """Queue `msg` without waiting; raises MailboxFull when full, ActorDead when stopped."""
        self._ctx.enqueue(msg, None)

    async def send(self, msg: M) -> None:
        """Queue `msg`, waiting for mailbox space (back-pressure); raises ActorDead if it stops."""
        await self._ctx.send(msg)

    def ask(
        self, msg: M, timeout: float | None = DEFAULT_ASK_TIMEOUT_S
    ) -> Coroutine[Any, Any, Any]:
        """Queue `msg` and await what `receive` returns: `reply = await ref.ask(msg)`.

        Raises MailboxFull at once when full, AskTimeout after `timeout` seconds (None: no
        timeout, still bounded by the actor's life), ActorDead when the actor is stopped or
        stops before replying. If `receive` raises, the same exception object is re-raised here
        and the actor crashes (its supervisor decides what happens next). The timeout runs on
        the injected clock, so a FakeClock drives it in tests.
        """
        # returns the coroutine itself: one frame less per ask on the hot path
        return self._ctx.ask(msg, timeout)

    def __repr__(self) -> str:
        return f"ActorRef({self._ctx.path})"
