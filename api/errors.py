"""Typed errors of the HTTP layer; api.problems turns each into a problem+json response."""

from __future__ import annotations

import re

import msgspec

from sigec_actors.errors import SigecError

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_FIELD = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")


class ApiError(SigecError):
    """Base of the errors handlers and the auth layer raise on purpose."""


class InvalidInput(ApiError):
    """A body, query or path value is invalid; `field` names it (dotted, camelCase)."""

    def __init__(self, field: str, problem: str, where: str = "body") -> None:
        self.field = field
        self.problem = problem
        self.where = where
        super().__init__(f"{where} field {field!r}: {problem}")

    @classmethod
    def from_validation(cls, exc: msgspec.ValidationError, where: str) -> InvalidInput:
        """Name the field a msgspec ValidationError is about."""
        message = str(exc)
        match = _AT.search(message)
        path = match.group("path") if match else ""
        problem = message[:match.start()] if match else message
        name = _FIELD.search(problem)
        parts = [p for p in (path.lstrip("."), name.group("name") if name else "") if p]
        return cls(".".join(parts) or "$", problem, where)


class MalformedBody(ApiError):
    """The body is not the JSON document the route expects."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"malformed body: {problem}")


class Unauthenticated(ApiError):
    """No valid access token; `reason` says what was wrong (for logs, not for the client)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"unauthenticated: {reason}")


class Forbidden(ApiError):
    """The caller's role does not allow the route."""

    def __init__(self, role: str, needed: str) -> None:
        self.role = role
        self.needed = needed
        super().__init__(f"role {role} may not call a route that needs {needed}")


class NotFound(ApiError):
    """No object of `kind` with `key` that the caller may see (never says which)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key} not found")


class Conflict(ApiError):
    """The request conflicts with the current state of `kind` `key`."""

    def __init__(self, kind: str, key: str, problem: str) -> None:
        self.kind = kind
        self.key = key
        self.problem = problem
        super().__init__(f"{kind} {key}: {problem}")


class StartRefused(ApiError):
    """The caller's token may not start charging now; `reason` is the authorizer's OCPP
    AuthorizationStatus (NoCredit, Blocked, Expired, ConcurrentTx, ...)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"charging cannot start: {reason}")


class NotConfigured(ApiError):
    """The node was started without the port this route needs (e.g. no actor system)."""

    def __init__(self, port: str) -> None:
        self.port = port
        super().__init__(f"{port} is not available on this node")
