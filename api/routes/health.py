"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import asyncpg
from aiohttp import web
from nats import errors as nats_errors

from api.context import ctx_of

routes = web.RouteTableDef()
CHECK_TIMEOUT_S = 2.0


@routes.get("/health/live")
async def live(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


@routes.get("/health/ready")
async def ready(request: web.Request) -> web.Response:
    """200 when every dependency answers (database, NATS, migrations); 503 naming what is not."""
    checks = ctx_of(request).readiness
    names = list(checks)
    results = await asyncio.gather(*(_run(checks[n]()) for n in names))
    failing = {n: r for n, r in zip(names, results, strict=True) if r is not None}
    body = {"status": "ready" if not failing else "not_ready",
            "checks": {n: (failing.get(n) or "ok") for n in names}}
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
