"""Payload codec: JSON bytes <-> generated Structs, schema violations mapped to CALLERROR codes."""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from sigec_actors.ocpp.actions import ActionSpec
from sigec_actors.ocpp.errors import ErrorCode, PayloadError

S = TypeVar("S", bound=msgspec.Struct)

Payload = bytes | bytearray | memoryview | msgspec.Raw

# msgspec ValidationError text -> CALLERROR code, first match wins. Part 4 §4.3 meanings:
# occurrence = a field (or array element count) occurs too few/many times; type = wrong JSON
# type (null included); property = a value outside its enum/length/range; format = not
# parseable as the declared format (date-time) or a payload that is not an object at all;
# protocol = the object does not have the PDU's structure (a property the PDU does not define).
_RULES: tuple[tuple[re.Pattern[str], ErrorCode], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"^Object missing required field", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
        (r"^Expected `array` of length", ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION),
        (r"^Object contains unknown field", ErrorCode.PROTOCOL_ERROR),
        (r"^Invalid RFC3339 encoded datetime", ErrorCode.FORMAT_VIOLATION),
        (r"^Expected `datetime` with a timezone", ErrorCode.FORMAT_VIOLATION),
        (r"^Expected `object`, got `[^`]+`$", ErrorCode.FORMAT_VIOLATION),
        (r"^Expected `[^`]+`, got `[^`]+`", ErrorCode.TYPE_CONSTRAINT_VIOLATION),
        (r"^Invalid enum value", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
        (r"^Expected `\w+` (of length )?[<>]=?", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
        (r"^Number out of range", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
    )
)
_PATH = re.compile(r" - at `(\$[^`]*)`$")


def classify(error: msgspec.ValidationError) -> PayloadError:
    """Map a msgspec validation error to the PayloadError (and CALLERROR code) it means."""
    text = str(error)
    match = _PATH.search(text)
    path = match.group(1) if match else "$"
    for pattern, code in _RULES:
        if pattern.search(text):
            return PayloadError(code, text, path)
    return PayloadError(ErrorCode.GENERIC_ERROR, text, path)


@functools.cache
def _type_info(model: type[msgspec.Struct]) -> mi.Type:
    return mi.type_info(model)


def _unwrap(kind: mi.Type) -> mi.Type:
    if isinstance(kind, mi.UnionType):
        members = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        return members[0] if len(members) == 1 else kind
    return kind


def _null_path(value: Any, kind: mi.Type, path: str) -> str | None:
    """Path of the first JSON null where the schema allows none (only `Any` fields allow it)."""
    kind = _unwrap(kind)
    if isinstance(kind, mi.AnyType):
        return None
    if value is None:
        return path
    if isinstance(kind, mi.StructType) and isinstance(value, dict):
        for field in kind.fields:
            if field.encode_name in value:
                name = field.encode_name
                found = _null_path(value[name], field.type, f"{path}.{name}")
                if found:
                    return found
    elif isinstance(kind, mi.VarTupleType | mi.ListType) and isinstance(value, list):
        for index, item in enumerate(value):
            found = _null_path(item, kind.item_type, f"{path}[{index}]")
            if found:
                return found
    return None


def _reject_nulls(model: type[msgspec.Struct], payload: Payload) -> PayloadError | None:
    # Optional fields are typed `X | None` for ergonomics, so msgspec accepts an explicit
    # null there; the schemas never allow null outside untyped (`Any`) properties.
    try:
        generic = msgspec.json.decode(payload)
    except RecursionError:  # only unknown CustomData extras can nest this deep
        return PayloadError(ErrorCode.FORMAT_VIOLATION, "payload nested too deeply")
    path = _null_path(generic, _type_info(model), "$")
    if path is None:
        return None
    return PayloadError(
        ErrorCode.TYPE_CONSTRAINT_VIOLATION, f"null is not allowed - at `{path}`", path
    )


def _decode(
    decoder: msgspec.json.Decoder[Any], model: type[S], payload: Payload
) -> S | PayloadError:
    try:
        value: S = decoder.decode(payload)
    except msgspec.ValidationError as error:
        return classify(error)
    except msgspec.DecodeError as error:
        return PayloadError(ErrorCode.FORMAT_VIOLATION, f"payload is not valid JSON: {error}")
    except RecursionError:
        return PayloadError(ErrorCode.FORMAT_VIOLATION, "payload nested too deeply")
    if b"null" in bytes(payload):
        return _reject_nulls(model, payload) or value
    return value


def decode_request(spec: ActionSpec, payload: Payload) -> msgspec.Struct | PayloadError:
    """Decode and validate a CALL payload of `spec`'s action into its request Struct."""
    return _decode(spec.request_decoder, spec.request, payload)


def decode_response(spec: ActionSpec, payload: Payload) -> msgspec.Struct | PayloadError:
    """Decode and validate a CALLRESULT payload of `spec`'s action into its response Struct."""
    return _decode(spec.response_decoder, spec.response, payload)


@functools.cache
def _decoder(model: type[S]) -> msgspec.json.Decoder[S]:
    return msgspec.json.Decoder(model)


def decode_as(model: type[S], payload: Payload) -> S | PayloadError:
    """Decode and validate `payload` as `model` (typed variant for callers that know the type)."""
    return _decode(_decoder(model), model, payload)


_ENCODER = msgspec.json.Encoder()


def encode_payload(payload: msgspec.Struct) -> bytes:
    """JSON bytes of a payload Struct (camelCase keys, absent optionals omitted)."""
    return _ENCODER.encode(payload)
