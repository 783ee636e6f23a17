"""Child specs, restart types, strategies and exit reasons: the OTP vocabulary as data."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from sigec_actors.runtime.actor import Actor

DEFAULT_MAILBOX_SIZE = 1000


class Restart(StrEnum):
    """When a supervisor restarts a child that exited."""

    PERMANENT = "permanent"  # always, whatever the reason (also after ctx.stop())
    TRANSIENT = "transient"  # only after an abnormal exit (crash or kill)
    TEMPORARY = "temporary"  # never; the child is removed when it exits


class Strategy(StrEnum):
    """Which siblings are restarted with a child that must be restarted."""

    ONE_FOR_ONE = "one_for_one"  # only that child
    ONE_FOR_ALL = "one_for_all"  # every child: stop all (reverse order), start all
    REST_FOR_ONE = "rest_for_one"  # that child and every child started after it


class ChildSpec(msgspec.Struct, frozen=True):
    """How a supervisor starts, restarts and stops one child.

    `factory` is a zero-argument callable returning a fresh Actor (or Supervisor) on every call.
    `shutdown_timeout_s` bounds a graceful stop before the task is cancelled; None waits for ever
    (use it for supervisors, whose own children have timeouts). `kind` names the actor type in
    snapshots (default: the actor class name).
    """

    key: str
    factory: Callable[[], Actor[Any]]
    restart: Restart = Restart.PERMANENT
    kind: str | None = None
    shutdown_timeout_s: float | None = 5.0
    mailbox_size: int = DEFAULT_MAILBOX_SIZE

    def __post_init__(self) -> None:
        if not self.key or "/" in self.key:
            raise ValueError(f"child key must be non-empty and have no '/': {self.key!r}")
        if self.mailbox_size < 1:
            raise ValueError(f"mailbox_size must be >= 1: {self.mailbox_size}")


class ExitKind(StrEnum):
    """Why an actor incarnation ended."""

    NORMAL = "normal"  # the actor called ctx.stop()
    SHUTDOWN = "shutdown"  # its supervisor or an operator stopped it for good
    RESTART = "restart"  # its supervisor or an operator stopped it to start a fresh incarnation
    CRASH = "crash"  # on_start, receive or on_stop raised
    KILLED = "killed"  # cancelled after its shutdown timeout


class ExitReason(msgspec.Struct, frozen=True):
    """The reason passed to `on_stop` and to the supervisor; `error` is set for CRASH."""

    kind: ExitKind
    error: BaseException | None = None

    @property
    def abnormal(self) -> bool:
        """True for crash and kill: what makes a TRANSIENT child restart."""
        return self.kind in (ExitKind.CRASH, ExitKind.KILLED)


NORMAL = ExitReason(ExitKind.NORMAL)
SHUTDOWN = ExitReason(ExitKind.SHUTDOWN)
RESTART = ExitReason(ExitKind.RESTART)
KILLED = ExitReason(ExitKind.KILLED)


def crash(error: BaseException) -> ExitReason:
    """Exit reason for an actor whose code raised `error`."""
    return ExitReason(ExitKind.CRASH, error)
