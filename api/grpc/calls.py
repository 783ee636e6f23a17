"""What every gRPC method does first and last: the caller from metadata, errors as statuses."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from api.commands import acting_for, caller_of
from api.context import AppContext
from api.error_codes import failure_of
from api.errors import Unauthenticated
from api.routing import Principal
from api.security import verify
from api.services import ApiServices
from sigec_actors.domain.records import Role

log = structlog.get_logger("api.grpc")
R = TypeVar("R")
Context = grpc.aio.ServicerContext[Any, Any]

STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
          402: grpc.StatusCode.FAILED_PRECONDITION, 403: grpc.StatusCode.PERMISSION_DENIED,
          404: grpc.StatusCode.NOT_FOUND, 409: grpc.StatusCode.FAILED_PRECONDITION,
          422: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
          502: grpc.StatusCode.UNAVAILABLE, 503: grpc.StatusCode.UNAVAILABLE,
          504: grpc.StatusCode.DEADLINE_EXCEEDED}
"""REST's status of a typed error (api.problems) as a gRPC status code."""


class Servicer:
    """Base of the service implementations: the node's context and services."""

    def __init__(self, ctx: AppContext, services: ApiServices) -> None:
        self.ctx = ctx
        self.services = services

    async def caller(self, context: Context, needed: Role = Role.USER) -> Principal:
        """The verified caller of `authorization: Bearer <token>` metadata, role checked."""
        metadata = dict(context.invocation_metadata() or ())
        scheme, _, token = str(metadata.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("no bearer token")
        return await verify(self.services, token.strip(), needed)


def peer_ip(peer: str | None) -> str | None:
    """The address in grpc's peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000")."""
    kind, _, rest = (peer or "").partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or None
    if kind == "ipv6":
        address = rest.rpartition(":")[0].strip("[]")
        return address.removeprefix("::ffff:") or None
    return None


async def _abort(context: Context, exc: Exception) -> None:
    """End the call: a typed error with its mapped status; anything else (a bug) is logged
    with its traceback and answered INTERNAL without detail, as REST's middleware does."""
    failure = failure_of(exc)
    if failure is None:
        log.error("grpc_unhandled_error", exc_info=exc)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        return
    context.set_trailing_metadata((("sigec-code", failure.code),))
    await context.abort(STATUS.get(failure.status, grpc.StatusCode.UNKNOWN), failure.message)


S = TypeVar("S", bound=Servicer)


def unary(needed: Role = Role.USER) -> Callable[
        [Callable[[S, Any, Context, Principal], Awaitable[R]]],
        Callable[[S, Any, Context], Awaitable[R]]]:
    """A unary method run for its verified caller (commands audited for it), errors mapped."""
    def wrap(method: Callable[[S, Any, Context, Principal], Awaitable[R]]
             ) -> Callable[[S, Any, Context], Awaitable[R]]:
        @functools.wraps(method)
        async def run(self: S, request: Any, context: Context) -> R:
            try:
                caller = await self.caller(context, needed)
                with acting_for(caller_of(caller.sub, caller.role, peer_ip(context.peer()))):
                    return await method(self, request, context, caller)
            except Exception as exc:  # the one place a gRPC call's error is answered
                await _abort(context, exc)
                raise AssertionError("abort returns only by raising") from exc
        return run
    return wrap


def streaming(method: Callable[[S, Any, Context, Principal], AsyncIterator[R]]
              ) -> Callable[[S, Any, Context], AsyncIterator[R]]:
    """A server-streaming method for its verified caller; errors before or while streaming
    end the call with the mapped status."""
    @functools.wraps(method)
    async def run(self: S, request: Any, context: Context) -> AsyncIterator[R]:
        try:
            caller = await self.caller(context)
            async for item in method(self, request, context, caller):
                yield item
        except Exception as exc:  # the one place a gRPC stream's error is answered
            await _abort(context, exc)
    return run


def stamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out
