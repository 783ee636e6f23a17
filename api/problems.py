"""RFC 9457 problem+json responses: the only place HTTP errors are shaped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import structlog
from aiohttp import web

from api import commands as cmd
from api import errors as api
from sigec_actors.domain import errors as store
from sigec_actors.errors import SigecError
from sigec_actors.payments import errors as pay
from sigec_actors.payments.taxid import InvalidTaxId
from sigec_actors.runtime.errors import ActorNotFound
from sigec_actors.services import auth
from sigec_actors.services.passwords import HashingBusy
from sigec_actors.services.stations import InvalidStationIdentity, InvalidStationPassword
from sigec_actors.services.tokens import InvalidToken
from sigec_actors.v2g_session import errors as v2g

PROBLEM_TYPE = "application/problem+json"
CACHE_RETRY_S = 5
DB_RETRY_S = 1
DB_OUTAGES: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError)
"""The database went away under a request (connection refused, reset or terminated, the
server shutting down or full, a pool timeout): 503, the client retries. asyncpg reports a
pooled connection whose backend was terminated while idle as InternalClientError "cannot
switch to state ..." (seen under pg_terminate_backend). Other PostgreSQL errors (a
constraint nobody expected) stay 500: a retry would not help."""
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


_BEARER = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def problem_for(exc: SigecError) -> Problem | None:  # noqa: PLR0911
    """The problem answering a typed error, or None for errors that are bugs here (500)."""
    match exc:
        case api.InvalidInput():
            return Problem(422, "Unprocessable Content", str(exc), field=exc.field,
                           where=exc.where)
        case InvalidStationIdentity():
            return Problem(422, "Unprocessable Content", str(exc), field="id")
        case InvalidStationPassword():
            return Problem(422, "Unprocessable Content", str(exc), field="password")
        case api.MalformedBody():
            return Problem(400, "Bad Request", str(exc))
        case api.Unauthenticated() | InvalidToken():
            return Problem(401, "Unauthorized", "a valid access token is required", _BEARER)
        case store.RefreshTokenError():
            return Problem(401, "Unauthorized", "the refresh token cannot be used")
        case api.Forbidden():
            return Problem(403, "Forbidden", "your role does not allow this operation")
        case api.NotFound() | ActorNotFound() | store.UnknownStation() | store.UnknownUser():
            return Problem(404, "Not Found", str(exc))
        case store.EmailTaken() | store.StationExists() | api.Conflict():
            return Problem(409, "Conflict", str(exc))
        case store.CacheUnavailable():
            log.warning("cache_unavailable_fail_closed", operation=exc.operation)
            return Problem(503, "Service Unavailable", "try again shortly",
                           {"Retry-After": str(CACHE_RETRY_S)})
        case api.NotConfigured():
            return Problem(503, "Service Unavailable", str(exc))
    return (_auth_problem(exc) or _command_problem(exc) or _start_problem(exc)
            or _v2g_problem(exc) or _payment_problem(exc))


def _start_problem(exc: SigecError) -> Problem | None:
    """A refused remote start: 402 for NoCredit, 409 otherwise; `reason` is the OCPP status."""
    if not isinstance(exc, api.StartRefused):
        return None
    if exc.reason == "NoCredit":
        return Problem(402, "Payment Required", str(exc), reason=exc.reason)
    return Problem(409, "Conflict", str(exc), reason=exc.reason)


def _v2g_problem(exc: SigecError) -> Problem | None:
    """Discharge sessions: 403 not the transaction's owner, 409 no transaction / a session
    already there / the station cannot discharge, 502 the station rejected the profile."""
    match exc:
        case v2g.NotTransactionOwner():
            return Problem(403, "Forbidden", str(exc), stationId=exc.station_id)
        case v2g.NoTransaction() | v2g.SessionAlreadyLive() | v2g.DischargeUnsupported():
            return Problem(409, "Conflict", str(exc), stationId=exc.station_id)
        case v2g.ProfileRejected():
            return Problem(502, "Bad Gateway", str(exc), stationId=exc.station_id,
                           sessionId=exc.session_id, reason=exc.reason)
        case v2g.UnknownSession():
            return Problem(404, "Not Found", str(exc))
    return None


def _payment_problem(exc: SigecError) -> Problem | None:  # noqa: PLR0911
    """Payments: 400 a webhook signature, 404 no such payment, 409 a refund that cannot be
    (state, amount left, wallet short), 422 a bad CPF/CNPJ or a reused Idempotency-Key,
    502 the provider refused."""
    match exc:
        case pay.BadSignature():
            return Problem(400, "Bad Request", str(exc))
        case pay.UnknownPayment():
            return Problem(404, "Not Found", str(exc))
        case pay.IllegalTransition() | pay.RefundTooLarge():
            return Problem(409, "Conflict", str(exc), paymentId=exc.payment_id)
        case store.InsufficientFunds():
            return Problem(409, "Conflict", str(exc))
        case InvalidTaxId():
            return Problem(422, "Unprocessable Content", str(exc), field=exc.field,
                           where="body")
        case pay.IdempotencyKeyReused():
            return Problem(422, "Unprocessable Content", str(exc), field="Idempotency-Key",
                           where="header")
        case pay.ProviderFailed():
            return Problem(502, "Bad Gateway", str(exc), operation=exc.operation,
                           code=exc.code)
    return None


def _auth_problem(exc: SigecError) -> Problem | None:
    match exc:
        case auth.WeakPassword():
            return Problem(422, "Unprocessable Content", str(exc), field="password",
                           where="body", suggestions=list(exc.suggestions))
        case auth.InvalidEmail():
            return Problem(422, "Unprocessable Content", str(exc), field="email", where="body")
        case auth.InvalidCredentials():
            return Problem(401, "Unauthorized", str(exc))
        case auth.LoginThrottled() | auth.RegistrationThrottled():
            return Problem(429, "Too Many Requests", str(exc),
                           {"Retry-After": str(exc.retry_after_s)})
        case HashingBusy():
            return Problem(503, "Service Unavailable", "too many registrations in progress",
                           {"Retry-After": str(exc.retry_after_s)})
    return None


def _command_problem(exc: SigecError) -> Problem | None:
    match exc:
        case cmd.CommandOffline() | cmd.CommandNotAllowed():
            return Problem(409, "Conflict", str(exc), stationId=exc.station_id)
        case cmd.CommandBusy():
            return Problem(503, "Service Unavailable", str(exc),
                           {"Retry-After": str(exc.retry_after_s)}, stationId=exc.station_id)
        case cmd.CommandRejected():
            return Problem(502, "Bad Gateway", str(exc), stationId=exc.station_id,
                           ocppError=exc.code)
        case cmd.CommandTimeout():
            return Problem(504, "Gateway Timeout", str(exc), stationId=exc.station_id)
    return None


@web.middleware
async def problem_middleware(  # noqa: PLR0911
        request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn Problem, typed errors, HTTP errors and unexpected exceptions into problem+json."""
    try:
        return await handler(request)
    except Problem as exc:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)
    except SigecError as exc:
        problem = problem_for(exc)
        if problem is None:
            log.exception("unmapped_error", method=request.method, path=request.path)
            return problem_response(500, "Internal Server Error")
        return problem_response(problem.status, problem.title, problem.detail,
                                problem.headers, **problem.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, exc.reason, headers=_safe_headers(exc))
    except DB_OUTAGES as exc:
        log.warning("database_unavailable", method=request.method, path=request.path,
                    error=repr(exc))
        return problem_response(503, "Service Unavailable", "the database is unavailable:"
                                " try again shortly", {"Retry-After": str(DB_RETRY_S)})
    except Exception:
        # The one place an unexpected error is caught: logged with its traceback, answered 500.
        log.exception("unhandled_error", method=request.method, path=request.path)
        return problem_response(500, "Internal Server Error")


def _safe_headers(exc: web.HTTPException) -> dict[str, str]:
    keep = ("Allow", "Retry-After", "WWW-Authenticate")
    return {k: v for k, v in exc.headers.items() if k in keep}
