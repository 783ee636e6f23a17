"""Parity: the msgspec models accept and reject exactly what the official schemas do."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigec_actors.ocpp import codec
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated.v201 import ACTIONS
from tests.ocpp.oracle import SCHEMAS, object_sites, payloads, resolve, validator

EXAMPLES = int(os.environ.get("SIGEC_PARITY_EXAMPLES", "10"))
PARITY = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

BAD_DATE_TIMES = [
    "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
    "2024-01-01T00:00:00", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01",
    "2024-01-01T00:00Z", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00Z\n", "yesterday", "",
    "2024-01-01_00:00:00Z", "2024-01-01T00:00:00.Z", "20240101T000000Z",
    # valid spellings: both sides must accept them
    "2024-02-29t00:00:00z", "2024-01-01 00:00:00+05:30", "2024-01-01T00:00:00.123456789-03:00",
]

# Expected CALLERROR code per mutation kind (when the mutated payload is invalid).
EXPECTED = {
    "drop_required": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "extra_property": ErrorCode.PROTOCOL_ERROR,
    "null": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "wrong_type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "bad_enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "too_long": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "below_minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "above_maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "too_few_items": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "too_many_items": ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
    "bad_date_time": ErrorCode.FORMAT_VIOLATION,
}

WRONG_TYPE = {
    "string": [7, True, {}, []],
    "integer": ["1", 1.5, 1.0, True],
    "number": ["1.0", True, []],
    "boolean": ["true", 0, {}],
    "object": [[], "x", 3],
    "array": [{}, "x", 3],
}

Mutation = tuple[str, Callable[[], None]]


def model(name: str) -> type[msgspec.Struct]:
    if name.endswith("Request"):
        return ACTIONS[name.removesuffix("Request")].request
    return ACTIONS[name.removesuffix("Response")].response


def decode(name: str, payload: Any) -> msgspec.Struct | PayloadError:
    return codec.decode_as(model(name), json.dumps(payload).encode())


def _property_mutations(obj: dict[str, Any], key: str, prop: dict[str, Any]) -> list[Mutation]:
    def put(value: Any) -> Callable[[], None]:
        return lambda: obj.__setitem__(key, value)

    kind = prop.get("type")
    found: list[Mutation] = [("null", put(None))]
    found += [("wrong_type", put(v)) for v in WRONG_TYPE.get(kind or "", [])]
    if "enum" in prop:
        found.append(("bad_enum", put("NotAnOcppValue")))
    if "maxLength" in prop:
        found.append(("too_long", put("x" * (prop["maxLength"] + 1))))
    if "minimum" in prop:
        found.append(("below_minimum", put(int(prop["minimum"]) - 1)))
    if "maximum" in prop:
        found.append(("above_maximum", put(int(prop["maximum"]) + 1)))
    if prop.get("minItems", 0) > 0:
        found.append(("too_few_items", put(obj[key][: prop["minItems"] - 1])))
    if "maxItems" in prop:
        found.append(("too_many_items", put(obj[key] * (prop["maxItems"] + 1))))
    if prop.get("format") == "date-time":
        found += [("bad_date_time", put(v)) for v in BAD_DATE_TIMES]
    return found


def mutations(name: str, instance: dict[str, Any]) -> list[Mutation]:
    """Every single-point mutation of a valid instance (applied in place when called)."""
    schema = SCHEMAS[name]
    found: list[Mutation] = []
    for obj, node in object_sites(instance, schema, schema):
        found.append(("extra_property", lambda o=obj: o.__setitem__("sigecExtra", 1)))
        for key in node.get("required", []):
            found.append(("drop_required", lambda o=obj, k=key: o.pop(k)))
        for key, value in list(obj.items()):
            if key in node["properties"] and value is not None:
                found += _property_mutations(obj, key, resolve(node["properties"][key], schema))
    return found


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@PARITY
@given(data=st.data())
def test_models_agree_with_official_schema(name: str, data: st.DataObject) -> None:
    instance = data.draw(payloads(name), label="valid")
    assert validator(name).is_valid(instance), "strategy produced an invalid instance"
    decoded = decode(name, instance)
    assert not isinstance(decoded, PayloadError), decoded
    # What we encode is valid for the official schema too, and decodes to the same value.
    again = json.loads(codec.encode_payload(decoded))
    assert validator(name).is_valid(again)
    assert decode(name, again) == decoded

    mutated = copy.deepcopy(instance)
    choices = mutations(name, mutated)
    kind, apply = data.draw(st.sampled_from(choices), label="mutation")
    apply()
    oracle_accepts = validator(name).is_valid(mutated)
    result = decode(name, mutated)
    assert isinstance(result, PayloadError) is not oracle_accepts, (kind, mutated, result)
    if isinstance(result, PayloadError):
        assert result.code == EXPECTED[kind], (kind, result)


@pytest.mark.parametrize("value", BAD_DATE_TIMES)
def test_date_time_parity_on_every_edge_case(value: str) -> None:
    payload = {"currentTime": value}
    result = decode("HeartbeatResponse", payload)
    assert isinstance(result, PayloadError) is not validator("HeartbeatResponse").is_valid(payload)
