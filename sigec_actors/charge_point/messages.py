"""Messages of the ChargePoint actor: what the link, the command API and timers tell it."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import msgspec

from sigec_actors.ocpp.rpc import Call


class Channel(Protocol):
    """One station connection as the actor sees it (implemented by sessions.Session)."""

    @property
    def number(self) -> int:
        """The link's session number (grows per accepted connection of the identity)."""
        ...

    @property
    def is_open(self) -> bool:
        """False once the socket is closing or closed."""
        ...

    async def reply(self, message_id: str, frame: bytes) -> None:
        """Answer the inbound CALL `message_id` (marks it handled); raises LinkClosed."""
        ...

    async def send(self, frame: bytes) -> None:
        """Send a frame that answers nothing (a CSMS CALL); raises LinkClosed."""
        ...

    def unanswered(self) -> tuple[str, ...]:
        """Ids of the station's CALLs delivered to the actor and not answered yet."""
        ...

    def claim_announcement(self) -> bool:
        """True exactly once per link: whoever gets it publishes `connected`."""
        ...

    def close_soon(self) -> None:
        """The actor serving this link stopped for good: close the socket in the background,
        so the station reconnects and gets a fresh actor."""
        ...


class Attached(msgspec.Struct, frozen=True):
    """A link is (again) the station's current one; `fresh` when nobody announced it yet.

    The actor sets `fresh` from `channel.claim_announcement()` when it handles the message.
    """

    channel: Channel
    fresh: bool = True


class Detached(msgspec.Struct, frozen=True):
    """The link `session` closed; ignored unless it is the current one."""

    session: int


class StationCall(msgspec.Struct, frozen=True):
    """A validated CALL from the station, to be answered on `channel`."""

    channel: Channel
    call: Call


class StationResult(msgspec.Struct, frozen=True):
    """A CALLRESULT from the station (payload not decoded yet)."""

    message_id: str
    payload: msgspec.Raw


class StationError(msgspec.Struct, frozen=True):
    """A CALLERROR from the station, or a broken CALLRESULT mapped to one."""

    message_id: str
    code: str
    description: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class SendCommand(msgspec.Struct, frozen=True):
    """Send `request` to the station; the outcome resolves `reply` (see commands.py)."""

    message_id: str
    request: msgspec.Struct
    timeout_s: float | None = None
    reply: asyncio.Future[Any] | None = None


class CallTimedOut(msgspec.Struct, frozen=True):
    """Timer: the CSMS CALL `message_id` had no answer in time."""

    message_id: str


class CallSendFailed(msgspec.Struct, frozen=True):
    """The CSMS CALL `message_id` could not be written (the link closed)."""

    message_id: str


class AbandonCalls(msgspec.Struct, frozen=True):
    """After a restart: CALLs lost with the old incarnation still unanswered get InternalError."""

    channel: Channel
    message_ids: tuple[str, ...]


class GetView(msgspec.Struct, frozen=True):
    """Ask: the station's live state as a ChargePointView."""


class ReloadState(msgspec.Struct, frozen=True):
    """Timer: try again to rebuild the state from storage after a failed load."""


Decidable = (
    Attached | Detached | StationCall | StationResult | StationError | SendCommand
    | CallTimedOut | CallSendFailed
)
"""What the pure `decide` handles."""

ChargePointMsg = Decidable | GetView | ReloadState | AbandonCalls
"""Everything the ChargePoint actor receives."""
