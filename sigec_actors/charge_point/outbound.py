"""Pure core of the command channel: one CSMS CALL in flight per connection, a bounded queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec.structs import replace

from sigec_actors.charge_point.effects import (
    CancelTimer,
    Effect,
    FailCommand,
    Log,
    Publish,
    ResolveCommand,
    SendCall,
    StartTimer,
)
from sigec_actors.charge_point.errors import (
    CommandError,
    CommandRejectedByState,
    CommandTimeout,
    InvalidResponse,
    StationBusy,
    StationCallError,
    StationOffline,
)
from sigec_actors.charge_point.messages import (
    CallSendFailed,
    CallTimedOut,
    SendCommand,
    StationError,
    StationResult,
)
from sigec_actors.charge_point.model import (
    COMMANDS,
    NO_OUTBOUND,
    ChargePointState,
    Outbound,
    OutCall,
    csms_may_send,
)
from sigec_actors.domain.events import (
    OCPP_COMMAND_RESPONSE,
    OCPP_COMMAND_SENT,
    OCPP_COMMAND_TIMEOUT,
)
from sigec_actors.ocpp.call_budget import LOG_EVERY_S
from sigec_actors.ocpp.errors import PayloadError
from sigec_actors.ocpp.generated.v201 import ACTIONS
from sigec_actors.ocpp.lenient import decode_response_lenient

Step = tuple[ChargePointState, list[Effect]]


def enqueue(state: ChargePointState, msg: SendCommand, now: datetime) -> Step:
    """Send at once if the slot is free, else queue; refuse when offline, gated or full."""
    spec = COMMANDS.get(type(msg.request))
    action = spec.name if spec else type(msg.request).__name__
    call = OutCall(msg.message_id, action, msg.request,
                   msg.timeout_s if msg.timeout_s is not None else state.policy.call_timeout_s)
    refusal = _refusal(state, call) if spec else CommandRejectedByState(
        state.station_id, action, "not a CSMS command")
    if refusal is not None:
        return state, [FailCommand(call.message_id, refusal)]
    ob = state.outbound
    if ob.in_flight is None:
        effects: list[Effect] = []
        return _launch(state, call, (), effects, now), effects
    if len(ob.queue) >= state.policy.command_queue_size:
        busy = StationBusy(state.station_id, action, state.policy.command_queue_size)
        return state, [FailCommand(call.message_id, busy)]
    return replace(state, outbound=Outbound(ob.in_flight, (*ob.queue, call))), []


def on_result(state: ChargePointState, msg: StationResult, now: datetime) -> Step:
    """Match a CALLRESULT to the CALL in flight; anything else is late or unknown: dropped."""
    call = state.outbound.in_flight
    if call is None or call.message_id != msg.message_id:
        return state, [_dropped(state, msg.message_id, "result")]
    response, unknown = decode_response_lenient(ACTIONS[call.action], msg.payload)
    effects: list[Effect] = [CancelTimer(call.message_id)]
    if unknown and not isinstance(response, PayloadError):  # accepted: see ocpp.lenient
        effects.append(Log("warning", "ocpp.response.unknown_properties",
                           {"action": call.action, "paths": list(unknown[:10])}))
    if isinstance(response, PayloadError):
        error = InvalidResponse(state.station_id, call.action, response.code.value,
                                response.description)
        effects += [FailCommand(call.message_id, error),
                    _event(OCPP_COMMAND_RESPONSE, state, call, now, outcome="invalid")]
    else:
        status = getattr(response, "status", None)
        effects += [ResolveCommand(call.message_id, response),
                    _event(OCPP_COMMAND_RESPONSE, state, call, now, outcome="result",
                           status=None if status is None else str(status))]
    return _advance(state, effects, now), effects


def on_error(state: ChargePointState, msg: StationError, now: datetime) -> Step:
    """A CALLERROR for the CALL in flight fails it with StationCallError."""
    call = state.outbound.in_flight
    if call is None or call.message_id != msg.message_id:
        return state, [_dropped(state, msg.message_id, "error")]
    error = StationCallError(state.station_id, call.action, msg.code, msg.description,
                             msg.details)
    effects: list[Effect] = [
        CancelTimer(call.message_id), FailCommand(call.message_id, error),
        _event(OCPP_COMMAND_RESPONSE, state, call, now, outcome="error", code=msg.code)]
    return _advance(state, effects, now), effects


def on_timeout(state: ChargePointState, msg: CallTimedOut, now: datetime) -> Step:
    """The CALL in flight timed out: fail it, free the slot; stale timers are ignored."""
    call = state.outbound.in_flight
    if call is None or call.message_id != msg.message_id:
        return state, []
    effects: list[Effect] = [
        FailCommand(call.message_id, CommandTimeout(state.station_id, call.action,
                                                    call.timeout_s)),
        _event(OCPP_COMMAND_TIMEOUT, state, call, now, timeout_s=call.timeout_s)]
    return _advance(state, effects, now), effects


def on_send_failed(state: ChargePointState, msg: CallSendFailed, now: datetime) -> Step:
    """The CALL could not be written: the station is gone for it."""
    call = state.outbound.in_flight
    if call is None or call.message_id != msg.message_id:
        return state, []
    effects: list[Effect] = [
        CancelTimer(call.message_id),
        FailCommand(call.message_id, StationOffline(state.station_id, call.action))]
    return _advance(state, effects, now), effects


def fail_in_flight(state: ChargePointState, effects: list[Effect]) -> ChargePointState:
    """Fail the CALL in flight as offline (its link is gone); the queue stays."""
    call = state.outbound.in_flight
    if call is None:
        return state
    effects += [CancelTimer(call.message_id),
                FailCommand(call.message_id, StationOffline(state.station_id, call.action))]
    return replace(state, outbound=Outbound(None, state.outbound.queue))


def fail_all(state: ChargePointState, effects: list[Effect]) -> ChargePointState:
    """Fail the CALL in flight and every queued command as offline."""
    state = fail_in_flight(state, effects)
    for call in state.outbound.queue:
        effects.append(FailCommand(call.message_id, StationOffline(state.station_id,
                                                                   call.action)))
    return replace(state, outbound=NO_OUTBOUND)


def advance(state: ChargePointState, effects: list[Effect], now: datetime) -> ChargePointState:
    """Start the next queued command if the slot is free (after attach)."""
    if state.outbound.in_flight is not None:
        return state
    return _advance(state, effects, now)


def _advance(state: ChargePointState, effects: list[Effect], now: datetime) -> ChargePointState:
    """Free the slot and start the first queued command that may still go."""
    queue = state.outbound.queue
    for index, call in enumerate(queue):
        refusal = _refusal(state, call)
        if refusal is None:
            return _launch(state, call, queue[index + 1:], effects, now)
        effects.append(FailCommand(call.message_id, refusal))
    return replace(state, outbound=NO_OUTBOUND)


def _launch(state: ChargePointState, call: OutCall, rest: tuple[OutCall, ...],
            effects: list[Effect], now: datetime) -> ChargePointState:
    effects += [SendCall(call.message_id, call.request),
                StartTimer(call.message_id, call.timeout_s),
                _event(OCPP_COMMAND_SENT, state, call, now)]
    return replace(state, outbound=Outbound(call, rest))


def _refusal(state: ChargePointState, call: OutCall) -> CommandError | None:
    if state.session is None:
        return StationOffline(state.station_id, call.action)
    if not csms_may_send(state.boot, call.action):
        return CommandRejectedByState(state.station_id, call.action, state.boot.value)
    return None


def _event(subject: str, state: ChargePointState, call: OutCall, now: datetime,
           **extra: Any) -> Publish:
    payload = {"stationId": state.station_id, "messageId": call.message_id,
               "action": call.action, "at": now.isoformat(), **extra}
    return Publish(subject, payload)


def _dropped(state: ChargePointState, message_id: str, kind: str) -> Log:
    in_flight = state.outbound.in_flight
    return Log("warning", "ocpp.command.unmatched_reply",
               {"message_id": message_id[:36], "kind": kind,
                "in_flight": in_flight.message_id if in_flight else None},
               every_s=LOG_EVERY_S)  # a station may send many: one line per 10 s
