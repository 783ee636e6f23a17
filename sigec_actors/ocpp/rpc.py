"""OCPP-J RPC framing: parse inbound frames into typed messages, encode outbound frames."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import msgspec

from sigec_actors.ocpp.actions import ActionSpec, Direction
from sigec_actors.ocpp.codec import decode_request
from sigec_actors.ocpp.errors import (
    MAX_DESCRIPTION,
    MAX_MESSAGE_ID,
    UNREADABLE_ID,
    ErrorCode,
    FrameError,
    MessageType,
    PayloadError,
)
from sigec_actors.ocpp.generated.v201 import ACTIONS


class Call(msgspec.Struct, frozen=True):
    """A validated inbound CALL: `payload` is the action's request Struct."""

    message_id: str
    action: str
    payload: msgspec.Struct
    spec: ActionSpec


class CallResult(msgspec.Struct, frozen=True):
    """An inbound CALLRESULT; decode `payload` with codec.decode_response once it is matched."""

    message_id: str
    payload: msgspec.Raw


class CallError(msgspec.Struct, frozen=True):
    """An inbound CALLERROR; `code` is kept as sent (peers may use codes outside ErrorCode)."""

    message_id: str
    code: str
    description: str
    details: dict[str, Any]


Frame = Call | CallResult | CallError | FrameError
"""What parse_frame returns: a typed message, or the FrameError that answers a bad frame."""

_PARTS = msgspec.json.Decoder(list[msgspec.Raw])
_INT = msgspec.json.Decoder(int)
_STR = msgspec.json.Decoder(str)
_OBJECT = msgspec.json.Decoder(dict[str, Any])
_ARITY: Final = {MessageType.CALL: 4, MessageType.CALL_RESULT: 3, MessageType.CALL_ERROR: 5}
_KINDS: Final[Mapping[int | None, MessageType]] = {kind.value: kind for kind in MessageType}
# Python 3.11 resolves `Enum.MEMBER` through the metaclass (~0.3 µs each): bind hot ones once.
_CALL: Final = MessageType.CALL
_CALL_RESULT: Final = MessageType.CALL_RESULT
_ENCODER = msgspec.json.Encoder()
_BY_REQUEST: Mapping[type[msgspec.Struct], ActionSpec] = MappingProxyType(
    {spec.request: spec for spec in ACTIONS.values()}
)


def _read(decoder: msgspec.json.Decoder[Any], raw: msgspec.Raw) -> Any:
    """The element decoded with `decoder`, or None when it has another JSON type."""
    try:
        return decoder.decode(raw)
    except (msgspec.ValidationError, RecursionError):
        return None


def parse_frame(data: str | bytes, *, inbound: Direction = Direction.CS_TO_CSMS) -> Frame:
    """Parse one text frame; never raises.

    `inbound` is the direction of CALLs this side accepts (a CSMS accepts CS_TO_CSMS; a
    station simulator passes CSMS_TO_CS). Known actions flowing the other way -> NotSupported.
    """
    parts = _split(data)
    if isinstance(parts, FrameError):
        return parts
    header = _header(parts)
    if isinstance(header, FrameError):
        return header
    kind, message_id = header
    if kind is _CALL:
        return _call(message_id, parts[2], parts[3], inbound)
    if kind is _CALL_RESULT:
        return CallResult(message_id, parts[2])
    return _call_error(message_id, parts[2:])


def _split(data: str | bytes) -> list[msgspec.Raw] | FrameError:
    """The frame's elements, undecoded; one msgspec pass over the whole frame."""
    try:
        parts = _PARTS.decode(data)
    except msgspec.DecodeError:  # ValidationError included: valid JSON that is not an array
        return FrameError(UNREADABLE_ID, ErrorCode.RPC_FRAMEWORK_ERROR, _why_not_array(data))
    except RecursionError:  # msgspec refuses absurd nesting this way
        return FrameError(UNREADABLE_ID, ErrorCode.RPC_FRAMEWORK_ERROR, "frame nested too deeply")
    if not parts:
        return FrameError(UNREADABLE_ID, ErrorCode.RPC_FRAMEWORK_ERROR, "frame is an empty array")
    return parts


def _why_not_array(data: str | bytes) -> str:
    try:
        msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return "frame is not valid JSON"
    return "frame is not a JSON array"


def _header(parts: list[msgspec.Raw]) -> tuple[MessageType, str] | FrameError:
    """MessageTypeId and message id, checked with the frame's arity (Part 4 §4.1-§4.2)."""
    kind = _KINDS.get(_read(_INT, parts[0]))
    message_id: str | None = _read(_STR, parts[1]) if len(parts) > 1 else None
    if kind is None:
        readable = message_id is not None and len(message_id) <= MAX_MESSAGE_ID
        return FrameError(message_id if message_id is not None and readable else UNREADABLE_ID,
                          ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
                          f"unknown MessageTypeId {bytes(parts[0])[:20]!r}")
    problem = None
    if message_id is None:
        problem = "message id is missing or not a string"
    elif len(message_id) > MAX_MESSAGE_ID:
        problem = f"message id longer than {MAX_MESSAGE_ID} characters"
    elif len(parts) != _ARITY[kind]:
        problem = f"{kind.name} frame must have {_ARITY[kind]} elements, got {len(parts)}"
    if problem is None and message_id is not None:
        return kind, message_id
    # an id over 36 characters is not echoed: the CALLERROR would break the limit itself
    echo = message_id if message_id is not None and len(message_id) <= MAX_MESSAGE_ID else None
    return FrameError(UNREADABLE_ID if echo is None else echo,
                      ErrorCode.RPC_FRAMEWORK_ERROR, problem or "", message_type=kind)


def _call(
    message_id: str, raw_action: msgspec.Raw, payload: msgspec.Raw, inbound: Direction
) -> Frame:
    action = _read(_STR, raw_action)
    if action is None:
        return FrameError(message_id, ErrorCode.RPC_FRAMEWORK_ERROR, "action is not a string",
                          message_type=MessageType.CALL)
    spec = ACTIONS.get(action)
    if spec is None:
        return FrameError(message_id, ErrorCode.NOT_IMPLEMENTED, f"unknown action {action[:64]!r}",
                          message_type=MessageType.CALL)
    if not spec.accepts(inbound):
        return FrameError(message_id, ErrorCode.NOT_SUPPORTED,
                          f"{action} is not accepted in this direction",
                          message_type=MessageType.CALL)
    request = decode_request(spec, payload)
    if isinstance(request, PayloadError):
        return FrameError(message_id, request.code, request.description,
                          message_type=MessageType.CALL)
    return Call(message_id, action, request, spec)


def _call_error(message_id: str, parts: list[msgspec.Raw]) -> Frame:
    code, description = _read(_STR, parts[0]), _read(_STR, parts[1])
    details = _read(_OBJECT, parts[2])
    if code is None or description is None or details is None:
        return FrameError(message_id, ErrorCode.RPC_FRAMEWORK_ERROR,
                          "CALLERROR needs a string code, a string description and an object",
                          message_type=MessageType.CALL_ERROR)
    return CallError(message_id, code, description, details)


def _check_id(message_id: str) -> None:
    if len(message_id) > MAX_MESSAGE_ID:
        raise ValueError(f"message id longer than {MAX_MESSAGE_ID} characters: {message_id!r}")


def encode_call(message_id: str, payload: msgspec.Struct) -> bytes:
    """`[2, id, action, payload]`; the action follows from the request Struct's type.

    Raises ValueError for a non-request payload or an id over 36 characters (caller bugs).
    """
    _check_id(message_id)
    spec = _BY_REQUEST.get(type(payload))
    if spec is None:
        raise ValueError(f"{type(payload).__name__} is not an OCPP 2.0.1 request")
    return _ENCODER.encode((2, message_id, spec.name, payload))  # MessageType.CALL


def encode_call_result(message_id: str, payload: msgspec.Struct) -> bytes:
    """`[3, id, payload]` answering the CALL `message_id`."""
    return _ENCODER.encode((3, message_id, payload))  # MessageType.CALL_RESULT


def encode_call_error(
    message_id: str,
    code: ErrorCode,
    description: str = "",
    details: Mapping[str, Any] | None = None,
) -> bytes:
    """`[4, id, code, description, details]`: description cut to 255 chars, details an object."""
    frame = (MessageType.CALL_ERROR.value, message_id, code.value,
             description[:MAX_DESCRIPTION], dict(details or {}))
    return _ENCODER.encode(frame)


def encode_frame_error(error: FrameError) -> bytes:
    """The CALLERROR frame answering a FrameError (send it only when `error.reply`)."""
    return encode_call_error(error.message_id, error.code, error.description, error.details)
