"""GraphQL arguments into the REST body types (same validation, same errors), and cursors."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

import msgspec
import strawberry

from api.errors import InvalidInput
from api.schemas.base import INT64_MAX

S = TypeVar("S", bound=msgspec.Struct)
MAX_FIRST = 200
_PREFIX = "o:"


def parse(kind: type[S], values: dict[str, Any]) -> S:
    """`values` (camelCase names, None meaning absent) as `kind`; InvalidInput names a field."""
    given = {k: v for k, v in values.items() if v is not None}
    try:
        return msgspec.convert(given, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput.from_validation(exc, "argument") from None


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def window(first: int, after: str | None, names: tuple[str, str] = ("first", "after"),
           ) -> tuple[int, int]:
    """(limit, offset) of a `first`/`after` page; InvalidInput (naming the argument from
    `names`) for a bad size or cursor. gRPC pages with page_size/page_token the same way."""
    if not 1 <= first <= MAX_FIRST:
        raise InvalidInput(names[0], f"must be an integer in 1..{MAX_FIRST}", "argument")
    if not after:
        return first, 0
    try:
        raw = base64.urlsafe_b64decode(after.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    digits = raw.removeprefix(_PREFIX)
    if not raw.startswith(_PREFIX) or not digits.isdigit() or int(digits) >= INT64_MAX:
        raise InvalidInput(names[1], "is not a cursor this API gave out", "argument")
    return first, int(digits) + 1


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, offset: int, shown: int, total: int) -> PageInfo:
        last = offset + shown - 1
        return cls(has_next_page=offset + shown < total,
                   end_cursor=cursor(last) if shown else None)
