"""The parity oracle: official schemas under jsonschema Draft 4 with an RFC 3339 date-time check."""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import hypothesis.internal.conjecture.utils as cu
import hypothesis_jsonschema._from_schema as _hjs
import jsonschema
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from sigec_actors.ocpp.codegen import load_schemas, schema_dir

SCHEMAS = load_schemas(schema_dir())

# RFC 3339 §5.6 `date-time`: like jsonschema's usual checker (rfc3339-validator), but with the
# lowercase "t"/"z" the RFC's ABNF allows (string literals are case-insensitive, §5.6 NOTE) and
# the space separator §5.6 lets applications use. Leap second 60 is refused, as by
# rfc3339-validator (Python datetimes cannot hold it). Day-of-month is checked; year 0 is invalid.
_RFC3339 = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(\d{2})[Tt ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    """RFC 3339 date-time as above; non-strings pass (the `type` keyword judges those)."""
    if not isinstance(value, str):
        return True
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day = (int(g) for g in match.groups())
    return year > 0 and 1 <= day <= calendar.monthrange(year, month)[1]


@functools.cache
def validator(name: str) -> jsonschema.Draft4Validator:
    """Draft 4 validator for one official schema file, with the date-time check."""
    return jsonschema.Draft4Validator(SCHEMAS[name], format_checker=FORMAT_CHECKER)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**n - 1).map(lambda v: str(v).zfill(n))


@st.composite
def date_times(draw: st.DrawFn) -> str:
    """Valid RFC 3339 date-times, edge spellings included."""
    value = draw(st.datetimes(min_value=datetime.datetime(1, 1, 2)))
    sep = draw(st.sampled_from("TTTt "))
    frac = draw(st.sampled_from(["", ".0", ".123", ".123456789012"]))
    zone = draw(st.sampled_from(["Z", "z", "+00:00", "-03:00", "+05:30", "-23:59", "+23:59"]))
    v = value
    stamp = f"{v.year:04d}-{v.month:02d}-{v.day:02d}{sep}{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    return stamp + frac + zone


def resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` to its definition."""
    ref = node.get("$ref")
    if ref is None:
        return node
    return schema["definitions"][ref.rsplit("/", 1)[-1]]


Site = tuple[dict[str, Any], dict[str, Any]]


def object_sites(value: Any, node: dict[str, Any], schema: dict[str, Any]) -> Iterator[Site]:
    """Every (object instance, its object schema) pair inside a valid instance."""
    node = resolve(node, schema)
    if node.get("type") == "object" and isinstance(value, dict):
        yield value, node
        for key, item in value.items():
            if key in node.get("properties", {}):
                yield from object_sites(item, node["properties"][key], schema)
    elif node.get("type") == "array" and isinstance(value, list):
        for item in value:
            yield from object_sites(item, node["items"], schema)


class _CompatMany(cu.many):
    """hypothesis-jsonschema 0.23.1 drives `many` with the `more()` protocol that newer
    hypothesis releases replaced by `with many(...) as e: for _ in e:`; this bridges the two."""

    _elements: Iterator[None] | None = None

    def more(self) -> bool:
        if self._elements is None:
            self.__enter__()
            self._elements = iter(self)
        try:
            next(self._elements)
        except StopIteration:
            self.__exit__(None)
            return False
        return True


if not hasattr(cu.many, "more"):
    _hjs.cu = SimpleNamespace(**{**vars(cu), "many": _CompatMany})


GENERATED_ITEMS = 3
"""Arrays are generated with at most this many items (or minItems) to bound the run time."""


def _narrow(node: Any) -> Any:
    """A sub-schema whose instances all satisfy the original: shorter arrays, fewer extras."""
    if isinstance(node, list):
        return [_narrow(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _narrow(value) for key, value in node.items()}
    if out.get("type") == "array":
        cap = max(out.get("minItems", 0), GENERATED_ITEMS)
        out["maxItems"] = min(out.get("maxItems", cap), cap)
    if out.get("type") == "object" and out.get("additionalProperties") is not False:
        out["maxProperties"] = len(out.get("properties", {})) + 2
    return out


@functools.cache
def payloads(name: str) -> st.SearchStrategy[Any]:
    """Valid instances of one official schema (hypothesis-jsonschema, our date-time strategy)."""
    with warnings.catch_warnings():  # "Overriding standard format 'date-time'": intended
        warnings.simplefilter("ignore")
        return from_schema(_narrow(SCHEMAS[name]), custom_formats={"date-time": date_times()})
