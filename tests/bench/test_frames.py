"""The frames the simulated stations send are valid OCPP 2.0.1 (checked by the ocpp library)."""

from __future__ import annotations

import msgspec
import pytest
from ocpp.messages import Call, _validate_payload

from bench.load.frames import (
    CALLERROR,
    CALLRESULT,
    Frames,
    answer_csms_call,
    kind_of,
    meter_values,
    transaction_event,
)


def _validate(frame: bytes) -> None:
    msg = msgspec.json.decode(frame)
    assert msg[0] == 2
    _validate_payload(Call(unique_id=msg[1], action=msg[2], payload=msg[3]), "2.0.1")


@pytest.mark.parametrize("action", ["BootNotification", "Heartbeat", "StatusNotification"])
def test_constant_frames_validate(action: str) -> None:
    _validate(Frames().call(b"42", action))


@pytest.mark.parametrize("kind", ["Started", "Updated", "Ended"])
def test_transaction_events_validate(kind: str) -> None:
    _validate(Frames.call_with(b"7", "TransactionEvent", transaction_event(kind, "T-1", 3, 12.5)))


def test_meter_values_validate() -> None:
    _validate(Frames.call_with(b"8", "MeterValues", meter_values(99.0)))


def test_kind_of() -> None:
    assert kind_of(b'[3,"1",{}]') == CALLRESULT
    assert kind_of(b'[ 4,"1","x","y",{}]') == CALLERROR
    assert kind_of(b"{}") == 0


def test_answers_to_csms_calls() -> None:
    action, reply = answer_csms_call(b'[2,"u1","Reset",{"type":"Immediate"}]')
    assert action == "Reset"
    assert msgspec.json.decode(reply) == [3, "u1", {"status": "Accepted"}]
    _, reply = answer_csms_call(b'[2,"u2","GetLog",{}]')
    assert msgspec.json.decode(reply)[:3] == [4, "u2", "NotImplemented"]
