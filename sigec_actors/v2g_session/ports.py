"""What the V2G session actor and its service depend on: storage, the station, prices, money."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from uuid import UUID

import msgspec

from sigec_actors.domain.records import Caller, OutboxMessage
from sigec_actors.domain.transactions import Transaction
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g_session.messages import MeterSample
from sigec_actors.v2g_session.queries import Capability, DayStats, Preferences
from sigec_actors.v2g_session.state import Status, V2GState

if TYPE_CHECKING:
    from sigec_actors.v2g_session.service import StartRequest


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
    missing_hours: tuple[datetime, ...] = ()
    """When a reprice found hours with export still without a price: those hours."""


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


class V2GQueries(Protocol):
    """The reads and small writes of the V2G routes (queries.PgV2GQueries)."""

    async def capability(self, station_id: str) -> Capability | None: ...
    async def set_mode(self, station_id: str, mode: str, max_discharge_w: int | None) -> None: ...
    async def active_transaction(self, station_id: str,
                                 evse_id: int | None) -> Transaction | None: ...
    async def preferences(self, user_id: UUID) -> Preferences: ...
    async def set_preferences(self, user_id: UUID, p: Preferences) -> Preferences: ...
    async def session_row(self, session_id: UUID) -> dict[str, Any] | None: ...
    async def live_row(self, station_id: str) -> dict[str, Any] | None: ...
    async def stats(self, user_id: UUID, since: datetime | None) -> list[DayStats]: ...


@runtime_checkable
class V2GControl(Protocol):
    """What the V2G routes reach on a node (wiring.V2GWiring; a fake in sigec_actors.testing)."""

    @property
    def queries(self) -> V2GQueries: ...

    def service(self, commander: Commander) -> Starter: ...


@runtime_checkable
class SettleControl(Protocol):
    """What the admin settle route reaches on a node (reprice.Repricing)."""

    async def settle_now(self, session_id: UUID) -> CompensationOutcome:
        """Settle a completed session now. UnknownSession; SessionNotCompleted."""
        ...

    async def session_row(self, session_id: UUID) -> dict[str, Any] | None: ...


class Starter(Protocol):
    """Starts and stops discharges (service.DischargeService)."""

    async def start(self, req: StartRequest) -> V2GState: ...
    async def stop(self, session_id: UUID, reason: str = "user", *,
                   caller: Caller) -> V2GState | None: ...
