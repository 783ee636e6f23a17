"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import asyncpg
from aiohttp import web
from nats import errors as nats_errors

from api.routing import Call, Resource
from api.schemas.base import Out
from sigec_actors.readiness_types import Ready

resource = Resource("health")
routes = resource.table
CHECK_TIMEOUT_S = 2.0


class LiveOut(Out, frozen=True, kw_only=True):
    status: str


class ReadyOut(Out, frozen=True, kw_only=True):
    status: str
    checks: dict[str, str]


@resource.get("/health/live", "The process is up and its event loop answers", role=None,
              response=LiveOut)
async def live(call: Call) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


@resource.get("/health/ready", "Every dependency answers (else 503 naming what does not)",
              role=None, response=ReadyOut, errors=(503,))
async def ready(call: Call) -> web.Response:
    """200 when every dependency answers (database, NATS, migrations); 503 naming what is not."""
    checks = call.ctx.readiness
    names = list(checks)
    results = await asyncio.gather(*(_run(checks[n]()) for n in names))
    answers = dict(zip(names, results, strict=True))
    failing = {n: r for n, r in answers.items() if r is not None and not isinstance(r, Ready)}
    body = {"status": "ready" if not failing else "not_ready",
            "checks": {n: (answers[n] or "ok") for n in names}}  # a Ready note shows as is
    return web.json_response(body, status=503 if failing else 200)


async def _run(check: Awaitable[str | None]) -> str | None:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except TimeoutError:
        return "timed out"
    except (OSError, ConnectionError) as exc:
        return f"unreachable: {type(exc).__name__}"
    except asyncpg.PostgresError as exc:
        return f"error: {type(exc).__name__}"
    except nats_errors.Error as exc:
        return f"error: {type(exc).__name__}"
