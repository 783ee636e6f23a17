"""Generic asyncio actor runtime: actors, bounded mailboxes, OTP supervision, introspection."""

from sigec_actors.runtime.actor import Actor
from sigec_actors.runtime.clock import Clock, SystemClock, TimerHandle
from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.errors import (
    ActorDead,
    ActorError,
    ActorNotFound,
    AskTimeout,
    ChildExists,
    ChildStartFailed,
    MailboxFull,
    RestartIntensityExceeded,
)
from sigec_actors.runtime.recent import RecentMessage
from sigec_actors.runtime.ref import DEFAULT_ASK_TIMEOUT_S, ActorRef
from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot
from sigec_actors.runtime.spec import (
    DEFAULT_MAILBOX_SIZE,
    ChildSpec,
    ExitKind,
    ExitReason,
    Restart,
    Strategy,
)
from sigec_actors.runtime.supervisor import (
    DynamicSupervisor,
    Supervisor,
    SupervisorAt,
    SupervisorRef,
)
from sigec_actors.runtime.system import ActorSystem

__all__ = [
    "DEFAULT_ASK_TIMEOUT_S",
    "DEFAULT_MAILBOX_SIZE",
    "Actor",
    "ActorContext",
    "ActorDead",
    "ActorDetail",
    "ActorError",
    "ActorNotFound",
    "ActorRef",
    "ActorSnapshot",
    "ActorSystem",
    "AskTimeout",
    "ChildExists",
    "ChildSpec",
    "ChildStartFailed",
    "Clock",
    "DynamicSupervisor",
    "ExitKind",
    "ExitReason",
    "MailboxFull",
    "RecentMessage",
    "Restart",
    "RestartIntensityExceeded",
    "Strategy",
    "Supervisor",
    "SupervisorAt",
    "SupervisorRef",
    "SystemClock",
    "TimerHandle",
]
