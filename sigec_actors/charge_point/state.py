"""The ChargePoint's functional core: `decide(state, msg, now) -> (state, effects)`, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

import msgspec
from msgspec.structs import replace

from sigec_actors.charge_point import inbound, outbound
from sigec_actors.charge_point.effects import Effect, Persist, Publish, WriteOnline
from sigec_actors.charge_point.messages import (
    Attached,
    CallSendFailed,
    CallTimedOut,
    Decidable,
    Detached,
    SendCommand,
    StationCall,
    StationError,
    StationResult,
)
from sigec_actors.charge_point.model import (
    BootStatus,
    ChargePointState,
    Policy,
    boot_decision,
    rebuild,
)
from sigec_actors.domain.events import OCPP_DEVICE_CONNECTED, OCPP_DEVICE_DISCONNECTED
from sigec_actors.domain.records import OutboxMessage

__all__ = ["BootStatus", "ChargePointState", "ChargePointView", "Policy", "boot_decision",
           "decide", "rebuild", "view_of"]

Step = tuple[ChargePointState, list[Effect]]


def decide(state: ChargePointState, msg: Decidable, now: datetime) -> Step:  # noqa: PLR0911
    """The next state and the effects to run, in order; pure and deterministic."""
    match msg:
        case StationCall():
            return inbound.on_call(state, msg, now)
        case StationResult():
            return outbound.on_result(state, msg, now)
        case StationError():
            return outbound.on_error(state, msg, now)
        case SendCommand():
            return outbound.enqueue(state, msg, now)
        case CallTimedOut():
            return outbound.on_timeout(state, msg, now)
        case CallSendFailed():
            return outbound.on_send_failed(state, msg, now)
        case Attached():
            return _attached(state, msg, now)
        case Detached():
            return _detached(state, msg, now)
        case _:
            assert_never(msg)


def _attached(state: ChargePointState, msg: Attached, now: datetime) -> Step:
    number = msg.channel.number
    if state.session == number:
        return state, []
    effects: list[Effect] = []
    state = outbound.fail_in_flight(state, effects)  # it was written on the old link
    state = replace(state, session=number, last_seen=now)
    if msg.fresh:
        effects.append(_presence(state, OCPP_DEVICE_CONNECTED, online=True, now=now))
    state = outbound.advance(state, effects, now)
    return state, effects


def _detached(state: ChargePointState, msg: Detached, now: datetime) -> Step:
    if state.session != msg.session:
        return state, []  # a replaced link closing late must not touch the new one
    effects: list[Effect] = []
    state = outbound.fail_all(state, effects)
    state = replace(state, session=None, last_seen=now)
    effects.append(_presence(state, OCPP_DEVICE_DISCONNECTED, online=False, now=now))
    return state, effects


def _presence(state: ChargePointState, subject: str, *, online: bool,
              now: datetime) -> Effect:
    payload = {"stationId": state.station_id, "session": state.session, "at": now.isoformat()}
    if not state.registered:  # no row to update: the event alone
        return Publish(subject, payload)
    # Connecting does not wait for its write (the boot that follows is what the station waits
    # for); a disconnect is committed before the actor is gone.
    return Persist(WriteOnline(online, (OutboxMessage(subject, payload),)), required=False,
                   background=online)


class ConnectorView(msgspec.Struct, frozen=True):
    evse_id: int
    connector_id: int
    status: str


class ChargePointView(msgspec.Struct, frozen=True, kw_only=True):
    """What GET /devices/{id} shows live for a connected station."""

    station_id: str
    online: bool
    boot_status: str
    last_seen: datetime | None
    vendor: str | None
    model: str | None
    firmware_version: str | None
    connectors: tuple[ConnectorView, ...]
    command_in_flight: str | None
    commands_queued: int
    firmware_status: str | None
    log_status: str | None
    variables: dict[str, str]


def view_of(state: ChargePointState) -> ChargePointView:
    """A read-only snapshot of the state for REST and the console."""
    info = state.boot_info
    in_flight = state.outbound.in_flight
    return ChargePointView(
        station_id=state.station_id, online=state.session is not None,
        boot_status=state.boot.value, last_seen=state.last_seen,
        vendor=info.vendor if info else None, model=info.model if info else None,
        firmware_version=info.firmware_version if info else None,
        connectors=tuple(ConnectorView(e, c, s.value)
                         for (e, c), s in sorted(state.connectors.items())),
        command_in_flight=in_flight.action if in_flight else None,
        commands_queued=len(state.outbound.queue),
        firmware_status=state.firmware_status, log_status=state.log_status,
        variables=dict(state.variables))
