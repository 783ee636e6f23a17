"""Station answers with properties the schema does not define: read them without those.

OCPP 2.0.1 schemas say `additionalProperties: false`, so a strict reading fails such an answer
with a ProtocolError. A station that answered a command *did* act on it; failing the command
would report a false outcome. So the CSMS drops the unknown properties, logs their paths and
keeps the answer (what mature CSMSes do). Every other violation still fails the command.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi

from sigec_actors.ocpp.actions import ActionSpec
from sigec_actors.ocpp.codec import _type_info, _unwrap, decode_as
from sigec_actors.ocpp.errors import ErrorCode, PayloadError


def _strip(value: Any, kind: mi.Type, path: str, dropped: list[str]) -> Any:
    kind = _unwrap(kind)
    if isinstance(kind, mi.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f for f in kind.fields}
        kept = {}
        for name, item in value.items():
            field = fields.get(name)
            if field is None:
                dropped.append(f"{path}.{name}")
            else:
                kept[name] = _strip(item, field.type, f"{path}.{name}", dropped)
        return kept
    if isinstance(kind, mi.VarTupleType | mi.ListType) and isinstance(value, list):
        return [_strip(v, kind.item_type, f"{path}[{i}]", dropped) for i, v in enumerate(value)]
    return value


def decode_response_lenient(spec: ActionSpec, payload: bytes | msgspec.Raw
                            ) -> tuple[msgspec.Struct | PayloadError, tuple[str, ...]]:
    """The response without unknown properties, and their JSON paths (none: a strict read).

    Only a ProtocolError (an unknown property) is retried this way; the stripped payload must
    then pass the strict reading, so a wrong type or a missing field still fails.
    """
    strict = decode_as(spec.response, payload)
    if not isinstance(strict, PayloadError) or strict.code is not ErrorCode.PROTOCOL_ERROR:
        return strict, ()
    dropped: list[str] = []
    try:
        generic = msgspec.json.decode(bytes(payload))
    except (msgspec.DecodeError, RecursionError):
        return strict, ()
    cleaned = _strip(generic, _type_info(spec.response), "$", dropped)
    return decode_as(spec.response, msgspec.json.encode(cleaned)), tuple(dropped)
