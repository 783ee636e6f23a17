"""Idempotency-Key on money-moving POSTs (Stripe model): stored answers replayed, reuse refused.

A route opts in with the `idempotency` option of its Resource decorator:

    @resource.post(BASE + "/intent", "Start a top-up", role=Role.USER, body=IntentIn,
                   status=201, idempotency="required")   # or "optional"
    async def intent(call: Call) -> web.Response:
        key = call.idempotency_key   # the client's key (None without one): pass it down, e.g.
        ...                          # as the payment's idempotency_key / the PSP's key

After authentication and body decoding, a request with the header `Idempotency-Key`
(1..255 printable ASCII characters, per caller) claims the key and runs the handler once; its
answer (status, content type, exact body bytes) is stored for 24 h (payments.idempotency_ttl_s)
and replayed, with `Idempotent-Replayed: true`, to every retry with the same key and the same
request (method, path, decoded query and body, caller). The same key with another request is a
422 naming `Idempotency-Key`; a retry while the first still runs is a 409 (Retry-After: 1).
Answers to typed errors after the handler started (402, 404, 409, 502 ...) are stored too;
a 400 or 422 (refused input, as Stripe does), a 429 or 503 ("try again") and an unexpected
exception release the key so a retry runs again. Storing the answer or releasing the key is
tried again after a database failure; an answer that still cannot be stored releases the key.
A claim whose node died unanswered is taken over by a retry after
payments.idempotency_lock_timeout_s, so the handler's money effect must itself be keyed (the
payment row by `call.idempotency_key`). Stores: PgIdempotencyStore in node wiring, the
in-memory one in the API harness (ctx.extras[EXTRAS_KEY]); expired keys are pruned hourly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from aiohttp import web

from api.errors import InvalidInput, NotConfigured
from api.problems import Problem, problem_for, problem_response
from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.errors import SigecError
from sigec_actors.idempotency import (
    Claimed,
    IdempotencyStore,
    IdemRequest,
    InFlight,
    Mismatch,
    Replay,
    StoredAnswer,
    fingerprint,
    valid_key,
)

if TYPE_CHECKING:
    from api.routing import Call

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
EXTRAS_KEY = "idempotency_store"
NOT_STORED = frozenset({400, 422, 429, 503})  # refused input, "try again": a retry runs again
log = structlog.get_logger("api.idempotency")

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]


def store_of(call: Call) -> IdempotencyStore:
    store: IdempotencyStore | None = call.ctx.extras.get(EXTRAS_KEY)
    if store is None:
        raise NotConfigured("idempotency keys")
    return store


def key_of(call: Call) -> str | None:
    """The request's Idempotency-Key, checked; None when absent on an optional route."""
    key = call.request.headers.get(HEADER)
    if key is None:
        if call.spec.idempotency == "required":
            raise InvalidInput(HEADER, "is required on this route", "header")
        return None
    if not valid_key(key):
        raise InvalidInput(HEADER, "must be 1..255 printable ASCII characters", "header")
    return key


async def request_of(call: Call, key: str) -> IdemRequest:
    """The key's scope (the caller) and the request's fingerprint."""
    caller = call.principal.sub if call.principal is not None else "public"
    query: Any = (msgspec.to_builtins(call.raw_query) if call.raw_query is not None
                  else sorted(call.request.query.items()))
    body: Any = (msgspec.to_builtins(call.raw_body) if call.raw_body is not None
                 else (await call.request.read()).decode("utf-8", "replace"))
    method, path = call.request.method, call.request.path
    return IdemRequest(scope=caller, key=key, method=method, path=path,
                       fingerprint=fingerprint(method, path, query, body, caller))


def idempotent(handler: Handler) -> Handler:
    """`handler` behind the Idempotency-Key mechanism (Resource does this for a route whose
    spec sets `idempotency`)."""
    async def run(call: Call) -> web.StreamResponse:
        return await run_idempotent(call, handler)
    return run


async def run_idempotent(call: Call, handler: Handler) -> web.StreamResponse:
    """Run `handler` at most once per key and request; replay its stored answer after."""
    key = key_of(call)
    if key is None:
        return await handler(call)
    store = store_of(call)
    request = await request_of(call, key)
    match await store.claim(request, call.ctx.clock()):
        case Replay(answer=answer):
            return web.Response(status=answer.status, body=answer.body,
                                content_type=answer.content_type, headers={REPLAYED: "true"})
        case InFlight():
            raise Problem(409, "Conflict", "a request with this Idempotency-Key is still running",
                          {"Retry-After": "1"}, field=HEADER)
        case Mismatch():
            raise InvalidInput(HEADER, "was already used with another request", "header")
        case Claimed(token=token):
            call.idempotency_key = key
            return await _run_claimed(call, handler, store, request, token)
    raise AssertionError("unreachable")  # pragma: no cover (mypy: Outcome is exhausted)


STORE_RETRIES_S = (0.05, 0.25, 1.0)  # a terminated backend costs one connection, not the pool


async def _stubborn(what: str, request: IdemRequest, op: Callable[[], Awaitable[Any]]) -> bool:
    """Run a store operation, again after a database failure (a connection killed under the
    request: the pool's next one works); False when every attempt failed."""
    for pause in (*STORE_RETRIES_S, None):
        try:
            await op()
        except DB_FAILURES as exc:
            log.warning("idempotency_store_failed", op=what, key=request.key, error=repr(exc))
            if pause is None:
                return False
            await asyncio.sleep(pause)
        else:
            return True
    return False  # pragma: no cover (the loop returns)


async def _run_claimed(call: Call, handler: Handler, store: IdempotencyStore,
                       request: IdemRequest, token: Any) -> web.StreamResponse:
    settled = False
    try:
        response = await _answer(call, handler)
        if response.status in NOT_STORED or not isinstance(response, web.Response) \
                or not isinstance(response.body, bytes):
            return response  # released below: a retry runs again
        answer = StoredAnswer(response.status, response.content_type, response.body)

        async def finish() -> None:
            if not await store.finish(request, token, answer, call.ctx.clock()):
                log.warning("idempotency_claim_lost", key=request.key, path=request.path)
        # The answer stands either way. Not stored after the retries: the key is released
        # rather than left claimed (a retry would get 409 until the lock timeout), so a retry
        # runs again and finds the money effect by its own key.
        settled = await _stubborn("finish", request, finish)
        return response
    finally:
        if not settled:
            await _stubborn("release", request, lambda: store.release(request, token))


async def _answer(call: Call, handler: Handler) -> web.StreamResponse:
    """The handler's response, or the problem answering a typed error it raised (which is
    an answer after execution began, so it is stored like any other)."""
    try:
        return await handler(call)
    except Problem as exc:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)
    except SigecError as exc:
        problem = problem_for(exc)
        if problem is None:
            raise
        return problem_response(problem.status, problem.title, problem.detail,
                                problem.headers, **problem.extra)
