"""Base classes and shared shapes of request and response bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

Limit = Annotated[int, msgspec.Meta(ge=1, le=200, description="Page size")]
INT64_MAX = 2**63 - 1
"""The largest integer PostgreSQL (bigint, LIMIT/OFFSET) takes; beyond it is a 422, not a 500."""
Offset = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX, description="Items to skip")]


class Body(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel",
           kw_only=True):
    """A request body: unknown fields are rejected (no mass assignment)."""


class Out(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """A response body: only the fields declared here ever leave the server."""


class PageQuery(Body, frozen=True, kw_only=True):
    limit: Limit = 50
    offset: Offset = 0


class ProblemOut(Out, frozen=True, kw_only=True):
    """RFC 9457 problem details (`errors` names invalid fields on 422)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    where: str | None = None
