"""HTTP metrics by route template and status (outermost, so it sees problem answers too)."""

from __future__ import annotations

import time

from aiohttp import web

from api.context import ctx_of
from api.problems import Handler


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects and the like pass through the problem layer
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        ctx_of(request).metrics.http_request(request.method, route, status,
                                             time.perf_counter() - started)
