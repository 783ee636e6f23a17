"""Control messages a supervisor receives on its system queue (never from user code)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from sigec_actors.runtime.spec import ChildSpec, ExitReason

if TYPE_CHECKING:
    from sigec_actors.runtime.context import ActorContext


class ChildExited(msgspec.Struct, frozen=True):
    """An incarnation of a child ended; stale if the child was restarted or removed since."""

    child: ActorContext[Any]
    incarnation: int
    reason: ExitReason


class StartChild(msgspec.Struct, frozen=True):
    """Start a child from `spec`; replies with its ActorRef, or with the error as a value."""

    spec: ChildSpec


class TerminateChild(msgspec.Struct, frozen=True):
    """Stop the child `key` and forget it (it is not restarted)."""

    key: str


class RestartChild(msgspec.Struct, frozen=True):
    """Stop the child `key` and start a fresh incarnation (operator action; not counted)."""

    key: str


class WhichChildren(msgspec.Struct, frozen=True):
    """Reply with the children's refs in start order (after on_start: also a start barrier)."""


SupervisorMsg = ChildExited | StartChild | TerminateChild | RestartChild | WhichChildren
