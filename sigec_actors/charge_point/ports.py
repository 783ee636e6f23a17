"""What the ChargePoint actor depends on: authorizer and transaction seams, and its wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.charge_point.store import StationStore
from sigec_actors.ocpp.generated.v201 import (
    AuthorizationStatusEnum,
    ChargingNeeds,
    IdToken,
    IdTokenInfo,
    ReservationStatusUpdateRequest,
    ReservationStatusUpdateResponse,
    TransactionEventRequest,
    TransactionEventResponse,
)

if TYPE_CHECKING:
    from sigec_actors.alerts.ports import Alerts
    from sigec_actors.charge_point.events import EventPublisher, LastSeenBatcher
    from sigec_actors.charge_point.model import Policy
    from sigec_actors.ports import AuditLog, StationRepository


class Authorizer(Protocol):
    """Answers idTokens (Authorize, TransactionEvent); the transactions issue plugs the real one.

    Business answers (Unknown, Blocked, ...) are IdTokenInfo statuses, never exceptions.
    """

    async def authorize(self, station_id: str, id_token: IdToken) -> IdTokenInfo: ...


class TransactionEventHandler(Protocol):
    """Stores a TransactionEvent idempotently and returns the response to send.

    Must commit before returning (the CALLRESULT means "stored"); a duplicate
    (station, transactionId, seqNo) returns the first response. Raising means "not stored":
    the station gets CALLERROR InternalError and retries; raising a PayloadError means
    "refused" (an implausible value): the station gets that CALLERROR code.
    """

    async def handle(self, station_id: str,
                     request: TransactionEventRequest) -> TransactionEventResponse: ...


class UnknownTokens:
    """Default authorizer until the transactions issue lands: every token is Unknown."""

    async def authorize(self, station_id: str, id_token: IdToken) -> IdTokenInfo:
        return IdTokenInfo(status=AuthorizationStatusEnum.UNKNOWN)


class ReservationStatusHandler(Protocol):
    """Records a station's ReservationStatusUpdate (Expired/Removed); unknown ids are fine."""

    async def on_status_update(self, station_id: str, request: ReservationStatusUpdateRequest
                               ) -> ReservationStatusUpdateResponse: ...


class IdleEvses(Protocol):
    """Told when a station booted (`evse_id` None) or reported an EVSE Available, so a
    transaction whose Ended was lost can be found (the transactions Reconciler); must not
    block (the work runs as a task: it sends the station a command through this actor)."""

    def station_idle(self, station_id: str, evse_id: int | None) -> None: ...


class TransactionMeterSink(Protocol):
    """Told every stored (or replayed) TransactionEvent and every link change of a station,
    e.g. to feed V2G session actors their meter values; must not block (a lookup and a tell)."""

    def transaction_event(self, station_id: str, request: TransactionEventRequest) -> None: ...

    def presence(self, station_id: str, online: bool) -> None: ...


class EvReports(Protocol):
    """Told what a station reports about the car on an EVSE (NotifyEVChargingNeeds), e.g. its
    SoC for the V2G capability; must not block (a tell: any I/O runs on its own task)."""

    def ev_charging_needs(self, station_id: str, evse_id: int, needs: ChargingNeeds) -> None: ...


class ChargePointObserver(Protocol):
    """Counts OCPP traffic for metrics (sigec_actors.services.metrics.Metrics fits)."""

    def message(self, direction: str, action: str) -> None: ...

    def call_answered(self, action: str, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class ChargePointDeps:
    """Everything a ChargePoint actor needs, built once per node (see StationSessions).

    `store` is derived from `stations`: the node's batching front of the repository.
    """

    policy: Policy
    stations: StationRepository
    transactions: TransactionEventHandler
    authorizer: Authorizer
    audit: AuditLog
    events: EventPublisher
    last_seen: LastSeenBatcher
    reservations: ReservationStatusHandler | None = None
    observer: ChargePointObserver | None = None
    alerts: Alerts | None = None  # None: critical security events are logged, not alerted
    idle: IdleEvses | None = None  # None: nobody looks for transactions whose Ended was lost
    meters: TransactionMeterSink | None = None  # None: nobody follows meter values (no V2G)
    ev_reports: EvReports | None = None  # None: nobody follows the cars' reported needs
    handlers: StationHandlers = field(default_factory=StationHandlers)  # feature packages'
    persist_timeout_s: float = 5.0
    reload_after_s: float = 5.0
    store: StationStore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # bounds one bulk DB call; a loaded node's event loop lag counts too, hence the margin
        store = StationStore(self.stations, timeout_s=3 * self.persist_timeout_s)
        object.__setattr__(self, "store", store)  # frozen: set once, here
