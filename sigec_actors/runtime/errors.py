"""Typed errors of the actor runtime; each carries the actor path and the data that explains it."""

from __future__ import annotations

from sigec_actors.errors import SigecError


class ActorError(SigecError):
    """Base of runtime errors about one actor, named by its path."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class ActorDead(ActorError):
    """The actor is not running, or stopped while the caller was waiting on it."""

    def __init__(self, path: str) -> None:
        super().__init__(path, f"actor {path} is not running")


class AskTimeout(ActorError):
    """No reply arrived within `timeout_s`; the message may still be processed later."""

    def __init__(self, path: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(path, f"ask to {path} timed out after {timeout_s:g} s")


class MailboxFull(ActorError):
    """The bounded mailbox holds `capacity` messages already; the message was not queued."""

    def __init__(self, path: str, capacity: int) -> None:
        self.capacity = capacity
        super().__init__(path, f"mailbox of {path} is full ({capacity} messages)")


class ActorNotFound(ActorError):
    """No running actor has this path (or no child has this key)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, f"no actor at {path}")


class ChildExists(ActorError):
    """A supervisor already has a child with this key."""

    def __init__(self, path: str) -> None:
        super().__init__(path, f"an actor already runs at {path}")


class ChildStartFailed(ActorError):
    """The child spec's factory raised; the cause is chained as `__cause__`."""

    def __init__(self, path: str, error: str) -> None:
        self.error = error
        super().__init__(path, f"could not start {path}: {error}")


class RestartIntensityExceeded(ActorError):
    """More than `max_restarts` restarts within `within_s` seconds: the supervisor gives up."""

    def __init__(self, path: str, max_restarts: int, within_s: float) -> None:
        self.max_restarts = max_restarts
        self.within_s = within_s
        super().__init__(
            path,
            f"supervisor {path} exceeded {max_restarts} restarts within {within_s:g} s",
        )
