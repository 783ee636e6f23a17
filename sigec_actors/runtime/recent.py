"""Recent messages of an actor, for the operator console: a bounded ring per actor slot.

The slot appends `(monotonic time, message)` when it takes a message (system queue included),
before the actor handles it, so after a crash the last entry is the message that crashed it.
The ring keeps references only; summaries are built when an operator asks (`recent_of`), never
on the hot path. Summaries are one line, at most `SUMMARY_CHARS` long, with secret-looking
fields (password, secret, authorization, private key) replaced by "***".
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

import msgspec

DEFAULT_RECENT_MESSAGES = 8
SUMMARY_CHARS = 240
_SECRET = re.compile(r"pass(word)?|secret|authori[sz]ation|private|credential", re.IGNORECASE)
_RAW_CHARS = 4096  # a Raw payload longer than this is not decoded for the summary

Recent = deque[tuple[float, Any]]


class RecentMessage(msgspec.Struct, frozen=True, rename="camel"):
    """One message an actor took: when (UTC, ISO 8601), how long ago, and what."""

    at: str
    age_s: float
    direction: str
    kind: str
    summary: str


def recent_of(ring: Iterable[tuple[float, Any]], *, monotonic_now: float,
              wall_now: datetime) -> list[RecentMessage]:
    """The ring's entries, oldest first, as RecentMessages (direction "in": taken by it)."""
    out = []
    for at, msg in ring:
        age = max(0.0, monotonic_now - at)
        out.append(RecentMessage(
            at=(wall_now - timedelta(seconds=age)).isoformat(timespec="milliseconds"),
            age_s=round(age, 3), direction="in", kind=type(msg).__name__,
            summary=summarize(msg)))
    return out


def summarize(msg: Any, limit: int = SUMMARY_CHARS) -> str:
    """`Kind {fields as JSON}` on one line, secrets masked, cut to `limit` characters."""
    kind = type(msg).__name__
    if isinstance(msg, msgspec.Struct):
        body = _json(_fields(msg))
    elif isinstance(msg, str | bytes | int | float | bool | dict | list | tuple) or msg is None:
        body = _json(_plain(msg))
    else:
        body = ""
    text = f"{kind} {body}".strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {name: _plain(getattr(struct, name), name) for name in struct.__struct_fields__}


def _plain(value: Any, name: str = "") -> Any:  # noqa: PLR0911 -- one case per type
    """JSON-able form of `value`; secret-named fields masked, opaque objects by type name."""
    if name and _SECRET.search(name):
        return "***"
    if isinstance(value, Enum):
        return _plain(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, msgspec.Raw):
        return _raw(bytes(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, msgspec.Struct):
        return _fields(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | UUID):
        return str(value)
    return f"<{type(value).__name__}>"


def _raw(data: bytes) -> Any:
    if len(data) > _RAW_CHARS:
        return f"<{len(data)} bytes>"
    try:
        return _plain(msgspec.json.decode(data))
    except msgspec.DecodeError:
        return data.decode("utf-8", "replace")


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
