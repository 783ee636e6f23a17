"""Effects returned by the pure core; the actor shell turns each into I/O, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from sigec_actors.alerts.model import NewAlert
from sigec_actors.charge_point.errors import CommandError
from sigec_actors.charge_point.messages import Channel
from sigec_actors.domain.records import AuditEntry, BootInfo, ConnectorStatus, OutboxMessage
from sigec_actors.ocpp.errors import ErrorCode
from sigec_actors.ocpp.generated.v201 import (
    AuthorizeRequest,
    ChargingNeeds,
    ReservationStatusUpdateRequest,
    TransactionEventRequest,
)


class Reply(msgspec.Struct, frozen=True):
    """CALLRESULT answering the station's CALL `message_id`."""

    channel: Channel
    message_id: str
    payload: msgspec.Struct


class ReplyError(msgspec.Struct, frozen=True):
    """CALLERROR answering the station's CALL `message_id`."""

    channel: Channel
    message_id: str
    code: ErrorCode
    description: str


class WriteBoot(msgspec.Struct, frozen=True):
    boot: BootInfo
    events: tuple[OutboxMessage, ...]


class WriteStatus(msgspec.Struct, frozen=True):
    evse_id: int
    connector_id: int
    status: ConnectorStatus
    events: tuple[OutboxMessage, ...]


class WriteOnline(msgspec.Struct, frozen=True):
    online: bool
    events: tuple[OutboxMessage, ...]


class WriteAudit(msgspec.Struct, frozen=True):
    entry: AuditEntry


class WriteAlert(msgspec.Struct, frozen=True):
    """Open an operator alert (deduplicated by its key; an open one is left as is)."""

    alert: NewAlert


Write = WriteBoot | WriteStatus | WriteOnline | WriteAudit | WriteAlert


class Persist(msgspec.Struct, frozen=True):
    """Commit `write`, then send `reply`.

    `required`: a failed write answers CALLERROR InternalError and keeps the old state;
    otherwise the failure is logged and the reply is sent anyway.
    `background`: nobody waits for it (no reply, not required): the write is queued, still
    committed in order with the station's other writes, and the actor goes on at once.
    """

    write: Write
    reply: Reply | None = None
    required: bool = True
    background: bool = False


class HandleTransactionEvent(msgspec.Struct, frozen=True):
    """Store the event (idempotently) through the transaction handler, then answer it."""

    channel: Channel
    message_id: str
    request: TransactionEventRequest


class HandleAuthorize(msgspec.Struct, frozen=True):
    """Ask the authorizer, then answer with its IdTokenInfo."""

    channel: Channel
    message_id: str
    request: AuthorizeRequest


class HandleOther(msgspec.Struct, frozen=True):
    """A request the core does not answer itself: the registered handler answers it
    (charge_point.handlers.StationHandlers), or CALLERROR NotSupported when there is none."""

    channel: Channel
    message_id: str
    action: str
    request: msgspec.Struct


class HandleReservationStatus(msgspec.Struct, frozen=True):
    """Record the station's reservation change (ReservationService), then answer it."""

    channel: Channel
    message_id: str
    request: ReservationStatusUpdateRequest


class SendCall(msgspec.Struct, frozen=True):
    """Write the CSMS CALL on the current link."""

    message_id: str
    request: msgspec.Struct


class ResolveCommand(msgspec.Struct, frozen=True):
    message_id: str
    response: msgspec.Struct


class FailCommand(msgspec.Struct, frozen=True):
    message_id: str
    error: CommandError


class StartTimer(msgspec.Struct, frozen=True):
    message_id: str
    delay_s: float


class CancelTimer(msgspec.Struct, frozen=True):
    message_id: str


class Publish(msgspec.Struct, frozen=True):
    """A non-DB event for the bus (best effort; may be lost while NATS is down)."""

    subject: str
    payload: dict[str, Any]


class MarkSeen(msgspec.Struct, frozen=True):
    """Remember last-seen for the batched DB flush (no DB write per heartbeat)."""

    at: datetime


class CheckIdle(msgspec.Struct, frozen=True):
    """The station booted (`evse_id` None) or reported the EVSE Available: tell the IdleEvses
    port (it looks for a transaction whose Ended was lost there); never awaited."""

    evse_id: int | None


class ReportEvNeeds(msgspec.Struct, frozen=True):
    """The station reported an EV's charging needs on an EVSE: tell the EvReports port (e.g.
    the car's SoC refines the V2G capability); never awaited."""

    evse_id: int
    needs: ChargingNeeds


class Log(msgspec.Struct, frozen=True):
    """A log line; with `every_s`, at most one such event per `every_s` per actor (the lines
    held back are counted in the next one's `suppressed`)."""

    level: str
    event: str
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    every_s: float | None = None


Effect = (
    Reply | ReplyError | Persist | HandleTransactionEvent | HandleAuthorize
    | HandleReservationStatus | HandleOther | SendCall
    | ResolveCommand | FailCommand | StartTimer | CancelTimer | Publish | MarkSeen | Log
    | CheckIdle | ReportEvNeeds
)
