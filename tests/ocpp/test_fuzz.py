"""No input makes the frame parser raise: it always returns a typed frame or a FrameError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigec_actors.ocpp.errors import FrameError
from sigec_actors.ocpp.generated.v201 import ACTIONS
from sigec_actors.ocpp.rpc import Call, CallError, CallResult, encode_frame_error, parse_frame

FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
FRAMES = (Call, CallResult, CallError, FrameError)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
frame_like = st.tuples(
    st.sampled_from([2, 3, 4, 5, -1, 2.0, "2", True, None]),
    st.one_of(st.text(max_size=40), st.integers(), st.none()),
    st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=10), st.integers()),
    json_values,
    json_values,
).flatmap(lambda parts: st.integers(0, 5).map(lambda n: list(parts[:n])))


def check(result: Any) -> None:
    assert isinstance(result, FRAMES)
    if isinstance(result, FrameError):
        assert json.loads(encode_frame_error(result))[0] == 4


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    check(parse_frame(data))


@FUZZ
@given(st.text(max_size=200))
def test_any_text(data: str) -> None:
    check(parse_frame(data))


@FUZZ
@given(json_values)
def test_any_json(value: Any) -> None:
    check(parse_frame(json.dumps(value)))


@FUZZ
@given(frame_like)
def test_frame_shaped_json(parts: list[Any]) -> None:
    check(parse_frame(json.dumps(parts)))


@FUZZ
@given(st.sampled_from(sorted(ACTIONS)), st.dictionaries(st.text(max_size=20), json_values))
def test_any_payload_for_every_action(action: str, payload: dict[str, Any]) -> None:
    check(parse_frame(json.dumps([2, "m", action, payload])))


def test_deep_nesting_and_huge_numbers() -> None:
    check(parse_frame("[" * 10_000 + "]" * 10_000))
    check(parse_frame('[2,"m","Heartbeat",{"customData":{"vendorId":"v","x":1e999}}]'))
    check(parse_frame('[2,"m","MeterValues",{"evseId":1e999,"meterValue":[]}]'))
    check(parse_frame('[2,"m","Heartbeat",{"customData":{"vendorId":"\\ud800"}}]'))
    check(parse_frame(b'[2,"m","Heartbeat",{}]\x00'))


def test_deep_nesting_inside_a_payload() -> None:
    deep = "[" * 5_000 + "]" * 5_000
    check(parse_frame('[2,"m","Heartbeat",{"customData":{"vendorId":"v","x":' + deep + "}}]"))
    check(parse_frame('[2,"m","Heartbeat",{"customData":{"vendorId":"v","x":null,"y":' + deep + "}}]"))
    check(parse_frame('[4,"m","GenericError","",{"x":' + deep + "}]"))
    check(parse_frame('[2,"m","DataTransfer",{"vendorId":"v","data":' + deep + "}]"))
