"""Property tests of the pure core `decide`: boot gating, transitions, one CALL in flight."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sigec_actors.charge_point.effects import (
    Effect,
    FailCommand,
    HandleAuthorize,
    HandleOther,
    HandleTransactionEvent,
    Persist,
    Reply,
    ReplyError,
    ResolveCommand,
    SendCall,
)
from sigec_actors.charge_point.messages import (
    Attached,
    CallTimedOut,
    Detached,
    SendCommand,
    StationCall,
    StationError,
    StationResult,
)
from sigec_actors.charge_point.model import (
    CONNECTOR_TRANSITIONS,
    BootStatus,
    ChargePointState,
    IllegalTransition,
    Policy,
    connector_transition,
    csms_may_send,
    station_may_send,
)
from sigec_actors.charge_point.state import decide
from sigec_actors.domain.records import ConnectorStatus
from sigec_actors.ocpp.errors import ErrorCode
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp.generated.v201 import ACTIONS
from sigec_actors.ocpp.rpc import Call

T0 = datetime(2025, 1, 1, tzinfo=UTC)
QUEUE = 3


class Chan:
    """A Channel stand-in: decide only reads the number."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.is_open = True


def call(mid: str, payload: msgspec.Struct) -> Call:
    spec = next(s for s in ACTIONS.values() if s.request is type(payload))
    return Call(mid, spec.name, payload, spec)


STATION_PAYLOADS: dict[str, msgspec.Struct] = {
    "Heartbeat": m.HeartbeatRequest(),
    "BootNotification": m.BootNotificationRequest(
        charging_station=m.ChargingStation(model="M", vendor_name="V"),
        reason=m.BootReasonEnum.POWER_UP),
    "Authorize": m.AuthorizeRequest(id_token=m.IdToken(id_token="A", type=m.IdTokenEnum.ISO14443)),
    "DataTransfer": m.DataTransferRequest(vendor_id="x"),
    "NotifyReport": m.NotifyReportRequest(request_id=1, generated_at=T0, seq_no=0),
    "TransactionEvent": m.TransactionEventRequest(
        event_type=m.TransactionEventEnum.STARTED, timestamp=T0,
        trigger_reason=m.TriggerReasonEnum.AUTHORIZED, seq_no=0,
        transaction_info=m.Transaction(transaction_id="T")),
}
COMMANDS: list[msgspec.Struct] = [
    m.ResetRequest(type=m.ResetEnum.IMMEDIATE), m.ClearCacheRequest(),
    m.GetVariablesRequest(get_variable_data=(m.GetVariableData(
        component=m.Component(name="C"), variable=m.Variable(name="V")),)),
    m.TriggerMessageRequest(requested_message=m.MessageTriggerEnum.HEARTBEAT),
]
ANSWERS = (Reply, ReplyError, HandleAuthorize, HandleTransactionEvent,
           HandleOther)  # answered by a registered handler (or its UNHANDLED default)


def answers(effects: list[Effect]) -> list[Any]:
    found = [e for e in effects if isinstance(e, ANSWERS)]
    found += [e.reply for e in effects if isinstance(e, Persist) and e.reply is not None]
    return found


class ChargePointMachine(RuleBasedStateMachine):
    """Drives decide with random station CALLs, commands, answers, timeouts and relinks."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count()
        self.now = T0
        self.terminal: set[str] = set()
        self.sent: list[str] = []

    @initialize(registered=st.booleans(), auto=st.booleans(), retired=st.booleans())
    def start(self, registered: bool, auto: bool, retired: bool) -> None:
        self.state = ChargePointState(
            station_id="CP", registered=registered, policy=Policy(
                auto_register=auto, command_queue_size=QUEUE),
            admin_status="Retired" if retired else "Operative")
        self.step(Attached(Chan(1)))

    def step(self, msg: Any) -> list[Effect]:
        before = self.state
        self.now += timedelta(seconds=1)
        self.state, effects = decide(before, msg, self.now)
        for effect in effects:
            if isinstance(effect, ResolveCommand | FailCommand):
                assert effect.message_id not in self.terminal, "a command settled twice"
                self.terminal.add(effect.message_id)
            if isinstance(effect, SendCall):
                action = type(effect.request).__name__.removesuffix("Request")
                assert csms_may_send(self.state.boot, action), (action, self.state.boot)
                prior = [mid for mid in self.sent if mid not in self.terminal]
                assert prior == [], f"second CALL while {prior} unanswered"
                self.sent.append(effect.message_id)
        for key, new in self.state.connectors.items():
            old = before.connectors.get(key)
            if old is not new:
                assert new in CONNECTOR_TRANSITIONS[old]
        return effects

    @rule(action=st.sampled_from(sorted(STATION_PAYLOADS)))
    def station_call(self, action: str) -> None:
        boot = self.state.boot
        effects = self.step(StationCall(Chan(1), call(f"s{next(self.ids)}",
                                                      STATION_PAYLOADS[action])))
        [answer] = answers(effects)  # exactly one answer per CALL
        if not station_may_send(boot, action):
            assert isinstance(answer, ReplyError) and answer.code is ErrorCode.SECURITY_ERROR
            assert self.state.boot is boot

    @rule(evse=st.integers(0, 2), conn=st.integers(1, 2),
          value=st.sampled_from(list(m.ConnectorStatusEnum)))
    def status(self, evse: int, conn: int, value: m.ConnectorStatusEnum) -> None:
        effects = self.step(StationCall(Chan(1), call(f"s{next(self.ids)}",
                                                      m.StatusNotificationRequest(
            timestamp=T0, connector_status=value, evse_id=evse, connector_id=conn))))
        assert len(answers(effects)) == 1

    @rule(index=st.integers(0, len(COMMANDS) - 1))
    def command(self, index: int) -> None:
        self.step(SendCommand(f"c{next(self.ids)}", COMMANDS[index]))

    @rule(ok=st.booleans(), known=st.booleans())
    def station_answers(self, ok: bool, known: bool) -> None:
        in_flight = self.state.outbound.in_flight
        mid = in_flight.message_id if in_flight and known else f"unknown{next(self.ids)}"
        msg = (StationResult(mid, msgspec.Raw(b'{"status":"Accepted"}')) if ok
               else StationError(mid, "GenericError", "no"))
        effects = self.step(msg)
        assert answers(effects) == []  # never a reply to a CALLRESULT/CALLERROR
        if not (in_flight and known):
            assert not [e for e in effects if isinstance(e, ResolveCommand | FailCommand)]

    @rule(known=st.booleans())
    def timeout(self, known: bool) -> None:
        in_flight = self.state.outbound.in_flight
        self.step(CallTimedOut(in_flight.message_id if in_flight and known else "stale"))

    @rule(number=st.integers(1, 3))
    def attach(self, number: int) -> None:
        self.step(Attached(Chan(number)))

    @rule(number=st.integers(1, 3))
    def detach(self, number: int) -> None:
        current = self.state.session
        self.step(Detached(number))
        if current != number:
            assert self.state.session == current  # a stale close changes nothing

    @invariant()
    def bounded(self) -> None:
        ob = self.state.outbound
        assert len(ob.queue) <= QUEUE
        if self.state.session is None:
            assert ob.in_flight is None and ob.queue == ()
        if ob.in_flight is None:
            assert ob.queue == ()  # nothing waits while the slot is free

    @invariant()
    def boot_policy(self) -> None:
        s = self.state
        if s.boot is BootStatus.ACCEPTED:
            assert s.registered and s.admin_status != "Retired"
        if s.boot is BootStatus.PENDING:
            assert not s.registered and s.policy.auto_register


ChargePointMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, derandomize=True,
                                                deadline=None)
TestChargePointMachine = ChargePointMachine.TestCase


@pytest.mark.parametrize("source", [*ConnectorStatus, None])
def test_reserved_only_from_free(source: ConnectorStatus | None) -> None:
    if source in (None, ConnectorStatus.AVAILABLE, ConnectorStatus.RESERVED):
        assert connector_transition(source, ConnectorStatus.RESERVED) is ConnectorStatus.RESERVED
    else:
        with pytest.raises(IllegalTransition) as info:
            connector_transition(source, ConnectorStatus.RESERVED)
        assert info.value.machine == "connector" and info.value.target == "Reserved"


def test_heartbeat_hot_path_is_one_reply_and_a_mark() -> None:
    state = ChargePointState(station_id="CP", registered=True, boot=BootStatus.ACCEPTED,
                             session=1)
    new, effects = decide(state, StationCall(Chan(1), call("h", m.HeartbeatRequest())), T0)
    assert [type(e).__name__ for e in effects] == ["Reply", "MarkSeen"]
    assert new.last_seen == T0 and new.connectors == state.connectors
