"""Payload codec: decode to typed Structs, the null rule, error classification, encoding."""

from __future__ import annotations

import datetime

import msgspec
import pytest

from sigec_actors.ocpp import codec
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp.generated.v201 import ACTIONS

E = ErrorCode


def test_decode_response_to_its_struct() -> None:
    result = codec.decode_response(ACTIONS["Reset"], b'{"status":"Scheduled"}')
    assert result == v201.ResetResponse(status=v201.ResetStatusEnum.SCHEDULED)
    bad = codec.decode_response(ACTIONS["Reset"], b'{"status":"Later"}')
    assert isinstance(bad, PayloadError)
    assert (bad.code, bad.path) == (E.PROPERTY_CONSTRAINT_VIOLATION, "$.status")


def test_decode_as_is_typed_and_rejects_garbage() -> None:
    value = codec.decode_as(v201.HeartbeatResponse, b'{"currentTime":"2024-01-01T00:00:00+02:00"}')
    assert isinstance(value, v201.HeartbeatResponse)
    assert value.current_time.utcoffset() == datetime.timedelta(hours=2)
    broken = codec.decode_as(v201.HeartbeatResponse, b'{"currentTime":')
    assert isinstance(broken, PayloadError)
    assert broken.code is E.FORMAT_VIOLATION


@pytest.mark.parametrize(
    "payload",
    [
        b'{"evseId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"sampledValue":[{"value":1,"phase":null}]}]}',
        b'{"evseId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"sampledValue":[{"value":1}]}],"customData":null}',
    ],
)
def test_null_is_rejected_wherever_the_schema_has_no_null(payload: bytes) -> None:
    result = codec.decode_request(ACTIONS["MeterValues"], payload)
    assert isinstance(result, PayloadError)
    assert result.code is E.TYPE_CONSTRAINT_VIOLATION
    assert result.path.startswith("$.")


def test_null_allowed_in_untyped_data_and_custom_data_extras() -> None:
    spec = ACTIONS["DataTransfer"]
    assert not isinstance(codec.decode_request(spec, b'{"vendorId":"v","data":null}'), PayloadError)
    text = b'{"vendorId":"v","data":{"a":null},"customData":{"vendorId":"x","extra":null}}'
    assert not isinstance(codec.decode_request(spec, text), PayloadError)
    # a string that merely contains "null" takes the slow path and passes
    assert not isinstance(codec.decode_request(spec, b'{"vendorId":"nullable"}'), PayloadError)


def test_unclassified_validation_error_is_generic() -> None:
    error = codec.classify(msgspec.ValidationError("something new"))
    assert error.code is E.GENERIC_ERROR


def test_encode_payload_omits_absent_optionals() -> None:
    response = v201.AuthorizeResponse(
        id_token_info=v201.IdTokenInfo(status=v201.AuthorizationStatusEnum.ACCEPTED)
    )
    assert codec.encode_payload(response) == b'{"idTokenInfo":{"status":"Accepted"}}'
