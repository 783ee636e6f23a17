"""What the V2G session actor and its service depend on: storage, the station, prices, money."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from sigec_actors.domain.records import OutboxMessage
from sigec_actors.v2g_session.messages import MeterSample
from sigec_actors.v2g_session.state import Status, V2GState


class SessionStore(Protocol):
    """v2g_sessions and their meter samples (PgSessionStore)."""

    async def create(self, state: V2GState, events: Sequence[OutboxMessage] = ()) -> None:
        """Store a new `starting` session; SessionAlreadyLive when the EVSE has a live one."""
        ...

    async def load(self, session_id: UUID) -> V2GState | None: ...

    async def live_for_station(self, station_id: str) -> list[V2GState]: ...

    async def save(self, expected: Status, state: V2GState, samples: Sequence[MeterSample] = (),
                   events: Sequence[OutboxMessage] = ()) -> bool:
        """Write `state` (and new samples, events) if the row still has status `expected`;
        False, nothing written, when another writer moved it first."""
        ...

    async def samples(self, session_id: UUID) -> list[tuple[datetime, int]]:
        """(timestamp, export register Wh) of the stored samples, oldest first."""
        ...


class CompensationOutcome(msgspec.Struct, frozen=True):
    """Where a session's compensation stands after a settle."""

    status: str  # calculated | paid | failed
    net_centavos: int = 0
    journal_entry_id: UUID | None = None


class Settler(Protocol):
    """Computes and pays a finished session's compensation, exactly once (settle.Settlement)."""

    async def settle(self, state: V2GState) -> CompensationOutcome: ...


class DischargeCommands(Protocol):
    """Ends a discharge at the station: ClearChargingProfile through the station's actor."""

    async def clear(self, station_id: str, profile_id: int, evse_id: int) -> tuple[bool, str]:
        """(cleared, reason); an offline or silent station is (False, why), never an error."""
        ...


class CurrentPrice(Protocol):
    """The retail price of the current hour at a station (its submarket), None if unknown."""

    async def retail_now(self, station_id: str, now: datetime) -> int | None: ...
