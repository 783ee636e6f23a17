"""Effects of the firmware job's pure core; the actor shell turns each into I/O."""

from __future__ import annotations

import msgspec

from sigec_actors.domain.records import OutboxMessage


class Persist(msgspec.Struct, frozen=True):
    """Store the new state (compare-and-set on the old status) and its events at once."""

    events: tuple[OutboxMessage, ...] = ()


class SendUpdate(msgspec.Struct, frozen=True):
    """Send UpdateFirmware for the job; the answer comes back as an UpdateAnswered."""


class RaiseAlert(msgspec.Struct, frozen=True):
    """Open the operator alert for a failed job."""

    reason: str


class Finish(msgspec.Struct, frozen=True):
    """The job ended (completed, failed, cancelled): the actor stops for good."""


Effect = Persist | SendUpdate | RaiseAlert | Finish
