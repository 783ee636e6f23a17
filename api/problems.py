"""RFC 9457 problem+json responses: the only place HTTP errors are shaped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from aiohttp import web

PROBLEM_TYPE = "application/problem+json"
log = structlog.get_logger("api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(status=status, body=msgspec.json.encode(body),
                        content_type=PROBLEM_TYPE, headers=headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn Problem, HTTP errors and unexpected exceptions into problem+json (no stack traces)."""
    try:
        return await handler(request)
    except Problem as exc:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, exc.reason, headers=_safe_headers(exc))
    except Exception:
        # The one place an unexpected error is caught: logged with its traceback, answered 500.
        log.exception("unhandled_error", method=request.method, path=request.path)
        return problem_response(500, "Internal Server Error")


def _safe_headers(exc: web.HTTPException) -> dict[str, str]:
    keep = ("Allow", "Retry-After", "WWW-Authenticate")
    return {k: v for k, v in exc.headers.items() if k in keep}
