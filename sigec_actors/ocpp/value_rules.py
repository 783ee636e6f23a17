"""Values the OCPP JSON schemas let through but the spec's types or our storage refuse."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201 as m

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
REFUSED: Final = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
"""Part 4 §4.3: "syntactically correct but at least one field contains an invalid value"."""

Found = tuple[str, list[str]]
"""A problem and the path to it, innermost segment first (built only when something is found)."""


def refusal(payload: msgspec.Struct) -> PayloadError | None:
    """The first value of a decoded inbound payload that must be refused, or None.

    - NUL (U+0000) in any string: PostgreSQL text and jsonb cannot hold it.
    - a typed integer outside 32 bits: OCPP 2.0.1 Part 2 defines `integer` as 32-bit (and our
      columns are int4). Untyped (`anyType`) data is only checked for NUL.
    - an energy register (a `...Register` measurand, the default one included) below zero.
    - TransactionEvent: seqNo below zero, an empty transactionId, an evse or connector id
      below 1 (the spec's numbering; our rows require it).
    """
    found = _walk(payload)
    if found is None:
        return None
    problem, parts = found
    path = "$" + "".join(reversed(parts))
    return PayloadError(REFUSED, f"{problem} - at `{path}`", path)


def _walk(value: Any) -> Found | None:  # noqa: PLR0911 -- one return per kind of value
    kind = type(value)
    if kind is str:
        return ("string contains NUL (U+0000)", []) if "\x00" in value else None
    if kind is int:
        return None if INT32_MIN <= value <= INT32_MAX else (
            f"integer {value} is outside 32 bits", [])
    if kind is tuple:
        for index, item in enumerate(value):
            found = _walk(item)
            if found is not None:
                found[1].append(f"[{index}]")
                return found
        return None
    if kind is dict or kind is list:  # only untyped (anyType) data decodes to these
        return _untyped(value)
    if isinstance(value, msgspec.Struct):
        return _struct(value)
    return None


def _struct(value: msgspec.Struct) -> Found | None:
    rule = _RULES.get(type(value))
    found = rule(value) if rule is not None else None
    if found is not None:
        return found
    for name, wire, untyped in _fields(type(value)):
        item = getattr(value, name)
        if item is None:
            continue
        found = _untyped(item) if untyped else _walk(item)
        if found is not None:
            found[1].append(f".{wire}")
            return found
    return None


@functools.cache
def _fields(model: type[msgspec.Struct]) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, JSON name, typed `Any`) of the fields of `model` that can hold a string or
    an integer (enums, numbers, booleans and times are skipped: the walk costs microseconds)."""
    info = mi.type_info(model)
    assert isinstance(info, mi.StructType)
    return tuple((f.name, f.encode_name, _is_any(f.type)) for f in info.fields
                 if _may_hold(f.type, set()))


def _is_any(kind: mi.Type) -> bool:
    if isinstance(kind, mi.UnionType):
        return any(_is_any(t) for t in kind.types)
    return isinstance(kind, mi.AnyType)


def _may_hold(kind: mi.Type, seen: set[type[Any]]) -> bool:  # noqa: PLR0911 -- one per kind
    """Whether a value of `kind` can contain a string or an integer somewhere."""
    if isinstance(kind, mi.StrType | mi.IntType | mi.AnyType):
        return True
    if isinstance(kind, mi.UnionType):
        return any(_may_hold(t, seen) for t in kind.types)
    if isinstance(kind, mi.VarTupleType | mi.ListType):
        return _may_hold(kind.item_type, seen)
    if isinstance(kind, mi.StructType):
        if kind.cls in _RULES:
            return True
        if kind.cls in seen:
            return False
        seen.add(kind.cls)
        return any(_may_hold(f.type, seen) for f in kind.fields)
    return False


def _untyped(value: Any) -> Found | None:
    """NUL anywhere in arbitrary JSON (keys included)."""
    if isinstance(value, str):
        return ("string contains NUL (U+0000)", []) if "\x00" in value else None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(f".{k}", k) for k in value] + [(f".{k}", v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    for segment, item in items:
        found = _untyped(item)
        if found is not None:
            found[1].append(segment)
            return found
    return None


def _sampled_value(sv: m.SampledValue) -> Found | None:
    measurand = sv.measurand.value if sv.measurand else "Energy.Active.Import.Register"
    if sv.value < 0 and measurand.endswith(".Register"):
        return f"energy register {measurand} is negative ({sv.value})", [".value"]
    return None


def _transaction_event(req: m.TransactionEventRequest) -> Found | None:
    if req.seq_no < 0:
        return f"seqNo {req.seq_no} is negative", [".seqNo"]
    if not req.transaction_info.transaction_id:
        return "transactionId is empty", [".transactionId", ".transactionInfo"]
    evse = req.evse
    if evse is not None and evse.id < 1:
        return f"evse id {evse.id} is below 1", [".id", ".evse"]
    if evse is not None and evse.connector_id is not None and evse.connector_id < 1:
        return f"connectorId {evse.connector_id} is below 1", [".connectorId", ".evse"]
    return None


_RULES: dict[type[Any], Callable[[Any], Found | None]] = {
    m.SampledValue: _sampled_value,
    m.TransactionEventRequest: _transaction_event,
}
