"""Typed errors as codes for GraphQL and gRPC, from the mapping REST uses (api.problems)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.problems import problem_for
from sigec_actors.errors import SigecError

CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 402: "PAYMENT_REQUIRED",
         403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 422: "INVALID_INPUT",
         429: "RATE_LIMITED", 502: "STATION_ERROR", 503: "UNAVAILABLE", 504: "TIMEOUT"}
"""A problem's HTTP status as the `code` GraphQL errors carry (gRPC maps the same statuses)."""


@dataclass(frozen=True)
class Failure:
    """What a client is told about a typed error: the REST status, a code, a message, details."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def failure_of(exc: BaseException) -> Failure | None:
    """The failure answering `exc` exactly as REST would, or None for a bug (internal error)."""
    if not isinstance(exc, SigecError):
        return None
    problem = problem_for(exc)
    if problem is None:
        return None
    headers = {"retryAfterS": int(problem.headers["Retry-After"])} \
        if "Retry-After" in problem.headers else {}
    return Failure(problem.status, CODES.get(problem.status, "ERROR"),
                   problem.detail or problem.title, {**problem.extra, **headers})
