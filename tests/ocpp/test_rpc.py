"""RPC framing: every CALLERROR rule of OCPP-J 2.0.1, byte-exact encoders."""

from __future__ import annotations

import datetime
import json

import msgspec
import pytest

from sigec_actors.ocpp.actions import Direction
from sigec_actors.ocpp.errors import ErrorCode, FrameError, MessageType
from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp.rpc import (
    Call,
    CallError,
    CallResult,
    encode_call,
    encode_call_error,
    encode_call_result,
    encode_frame_error,
    parse_frame,
)

E = ErrorCode
STATUS = (
    '{"timestamp":"2024-05-01T12:00:00Z","connectorStatus":"Available","evseId":1,"connectorId":1}'
)


def error_of(frame: str | bytes, **kwargs: Direction) -> FrameError:
    result = parse_frame(frame, **kwargs)
    assert isinstance(result, FrameError), result
    return result


@pytest.mark.parametrize(
    ("frame", "message_id", "code"),
    [
        ('[2,"1","Heartbeat",{}', "-1", E.RPC_FRAMEWORK_ERROR),  # invalid JSON
        (b"\xff\xfe", "-1", E.RPC_FRAMEWORK_ERROR),  # not UTF-8
        ("", "-1", E.RPC_FRAMEWORK_ERROR),
        ('{"a":1}', "-1", E.RPC_FRAMEWORK_ERROR),  # not an array
        ('"2"', "-1", E.RPC_FRAMEWORK_ERROR),
        ("[]", "-1", E.RPC_FRAMEWORK_ERROR),
        ('[2,17,"Heartbeat",{}]', "-1", E.RPC_FRAMEWORK_ERROR),  # unreadable id
        ("[2]", "-1", E.RPC_FRAMEWORK_ERROR),
        ('[2,"m1","Heartbeat"]', "m1", E.RPC_FRAMEWORK_ERROR),  # wrong arity
        ('[2,"m1","Heartbeat",{},1]', "m1", E.RPC_FRAMEWORK_ERROR),
        (f'[2,"{"x" * 37}","Heartbeat",{{}}]', "-1", E.RPC_FRAMEWORK_ERROR),  # id too long
        (f'[2,"{"x" * 36}","Heartbeat",{{}},1]', "x" * 36, E.RPC_FRAMEWORK_ERROR),  # 36: echoed
        ('[2,"m1",7,{}]', "m1", E.RPC_FRAMEWORK_ERROR),  # action not a string
        ('[7,"m1","Heartbeat",{}]', "m1", E.MESSAGE_TYPE_NOT_SUPPORTED),
        ('[5,"m1","Heartbeat",{}]', "m1", E.MESSAGE_TYPE_NOT_SUPPORTED),  # 2.1-only type
        ('["2","m1","Heartbeat",{}]', "m1", E.MESSAGE_TYPE_NOT_SUPPORTED),
        ('[true,"m1","Heartbeat",{}]', "m1", E.MESSAGE_TYPE_NOT_SUPPORTED),
        ('[2.0,"m1","Heartbeat",{}]', "m1", E.MESSAGE_TYPE_NOT_SUPPORTED),
        ("[9]", "-1", E.MESSAGE_TYPE_NOT_SUPPORTED),
        ('[2,"m1","FlyToTheMoon",{}]', "m1", E.NOT_IMPLEMENTED),
        ('[2,"m1","Reset",{"type":"Immediate"}]', "m1", E.NOT_SUPPORTED),  # CSMS->CS action
        ('[2,"m1","BootNotification",{"reason":"PowerUp"}]', "m1",
         E.OCCURRENCE_CONSTRAINT_VIOLATION),
        ('[2,"m1","Heartbeat",{"customData":{}}]', "m1", E.OCCURRENCE_CONSTRAINT_VIOLATION),
        ('[2,"m1","StatusNotification",' + STATUS.replace('"evseId":1', '"evseId":"1"') + "]",
         "m1", E.TYPE_CONSTRAINT_VIOLATION),
        ('[2,"m1","StatusNotification",' + STATUS.replace('"evseId":1', '"evseId":1.5') + "]",
         "m1", E.TYPE_CONSTRAINT_VIOLATION),
        ('[2,"m1","Heartbeat",{"customData":null}]', "m1", E.TYPE_CONSTRAINT_VIOLATION),
        ('[2,"m1","StatusNotification",' + STATUS.replace("Available", "Sleepy") + "]",
         "m1", E.PROPERTY_CONSTRAINT_VIOLATION),
        ('[2,"m1","Heartbeat",{"customData":{"vendorId":"' + "v" * 256 + '"}}]', "m1",
         E.PROPERTY_CONSTRAINT_VIOLATION),
        ('[2,"m1","StatusNotification",' + STATUS.replace("12:00:00Z", "25:00:00Z") + "]",
         "m1", E.FORMAT_VIOLATION),
        ('[2,"m1","StatusNotification",' + STATUS.replace("12:00:00Z", "12:00:00") + "]",
         "m1", E.FORMAT_VIOLATION),  # no offset
        ('[2,"m1","Heartbeat",[]]', "m1", E.FORMAT_VIOLATION),  # payload not an object
        ('[2,"m1","Heartbeat",{"beat":1}]', "m1", E.PROTOCOL_ERROR),  # property not in the PDU
    ],
)
def test_callerror_codes(frame: str | bytes, message_id: str, code: ErrorCode) -> None:
    error = error_of(frame)
    assert (error.message_id, error.code) == (message_id, code)
    assert error.reply
    assert len(error.description) <= 255
    sent = json.loads(encode_frame_error(error))
    assert sent[:3] == [4, message_id, code.value]
    assert sent[4] == {}


def test_out_of_range_is_a_property_violation() -> None:
    payload = {"chargingNeeds": {"requestedEnergyTransfer": "DC", "dcChargingParameters": {
        "evMaxCurrent": 1, "evMaxVoltage": 1, "stateOfCharge": 101}}, "evseId": 1}
    error = error_of(json.dumps([2, "m1", "NotifyEVChargingNeeds", payload]))
    assert error.code is E.PROPERTY_CONSTRAINT_VIOLATION
    assert "$.chargingNeeds.dcChargingParameters.stateOfCharge" in error.description


def test_empty_array_is_an_occurrence_violation() -> None:
    frame = json.dumps([2, "m1", "MeterValues", {"evseId": 1, "meterValue": []}])
    assert error_of(frame).code is E.OCCURRENCE_CONSTRAINT_VIOLATION


def test_bad_callresult_and_callerror_frames_are_not_answered() -> None:
    for frame in ('[3,"m1"]', '[3,5,{}]', '[4,"m1","GenericError","x"]',
                  '[4,"m1","GenericError","x",[]]', '[4,"m1",1,"x",{}]'):
        error = error_of(frame)
        assert not error.reply
        assert error.message_type in (MessageType.CALL_RESULT, MessageType.CALL_ERROR)


def test_valid_frames() -> None:
    call = parse_frame('[2,"m1","StatusNotification",' + STATUS + "]")
    assert isinstance(call, Call)
    assert call.action == "StatusNotification"
    assert call.spec.response is v201.StatusNotificationResponse
    assert isinstance(call.payload, v201.StatusNotificationRequest)
    assert call.payload.connector_status is v201.ConnectorStatusEnum.AVAILABLE
    assert call.payload.timestamp == datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)

    result = parse_frame(b'[3,"c1",{"status":"Accepted"}]')
    assert isinstance(result, CallResult)
    assert bytes(result.payload) == b'{"status":"Accepted"}'

    error = parse_frame('[4,"c1","NotSupported","nope",{"why":1}]')
    assert error == CallError("c1", "NotSupported", "nope", {"why": 1})


def test_id_of_exactly_36_chars_and_data_transfer_null() -> None:
    mid = "x" * 36
    assert isinstance(parse_frame(f'[2,"{mid}","Heartbeat",{{}}]'), Call)
    frame = '[2,"m1","DataTransfer",{"vendorId":"v","data":null}]'
    assert isinstance(parse_frame(frame), Call)  # `data` is untyped: null is a valid value


def test_station_side_direction() -> None:
    frame = '[2,"m1","Reset",{"type":"Immediate"}]'
    call = parse_frame(frame, inbound=Direction.CSMS_TO_CS)
    assert isinstance(call, Call)
    assert error_of('[2,"m1","Heartbeat",{}]', inbound=Direction.CSMS_TO_CS).code is E.NOT_SUPPORTED


def test_encoders() -> None:
    now = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
    assert encode_call_result("m1", v201.HeartbeatResponse(current_time=now)) == (
        b'[3,"m1",{"currentTime":"2024-05-01T12:00:00Z"}]'
    )
    reset = v201.ResetRequest(type=v201.ResetEnum.IMMEDIATE)
    assert encode_call("c1", reset) == b'[2,"c1","Reset",{"type":"Immediate"}]'
    assert encode_call_error("m1", E.INTERNAL_ERROR) == b'[4,"m1","InternalError","",{}]'
    long = json.loads(encode_call_error("m1", E.GENERIC_ERROR, "d" * 300, {"k": "v"}))
    assert (len(long[3]), long[4]) == (255, {"k": "v"})
    with pytest.raises(ValueError, match="not an OCPP"):
        encode_call("c1", v201.HeartbeatResponse(current_time=now))
    with pytest.raises(ValueError, match="36"):
        encode_call("c" * 37, reset)


def test_round_trip_through_the_station_side() -> None:
    frame = encode_call("c1", v201.ResetRequest(type=v201.ResetEnum.ON_IDLE, evse_id=2))
    call = parse_frame(frame, inbound=Direction.CSMS_TO_CS)
    assert isinstance(call, Call)
    assert call.payload == v201.ResetRequest(type=v201.ResetEnum.ON_IDLE, evse_id=2)
    assert msgspec.json.decode(frame)[3] == {"type": "OnIdle", "evseId": 2}
