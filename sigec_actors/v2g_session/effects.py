"""Effects returned by the V2G session's pure core; the actor shell turns each into I/O."""

from __future__ import annotations

import msgspec

from sigec_actors.domain.records import OutboxMessage
from sigec_actors.v2g_session.messages import MeterSample


class Persist(msgspec.Struct, frozen=True):
    """Store the new state (compare-and-set on the old status), new samples and events at once."""

    samples: tuple[MeterSample, ...] = ()
    events: tuple[OutboxMessage, ...] = ()


class SendClear(msgspec.Struct, frozen=True):
    """Send ClearChargingProfile for the session's profile; the answer is a ClearAnswered."""

    profile_id: int
    evse_id: int


class CheckPrice(msgspec.Struct, frozen=True):
    """Look up the current grid price; the answer is a PriceObserved."""


class Settle(msgspec.Struct, frozen=True):
    """Compute the compensation from the stored samples and pay it (exactly once)."""


class Finish(msgspec.Struct, frozen=True):
    """The session is over and settled: the actor stops for good."""


Effect = Persist | SendClear | CheckPrice | Settle | Finish
