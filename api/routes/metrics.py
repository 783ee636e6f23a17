"""Prometheus scrape endpoint."""

from __future__ import annotations

from aiohttp import web

from api.routing import Call, Resource

resource = Resource("metrics")
routes = resource.table


@resource.get("/metrics", "Prometheus text exposition of this node", role=None,
              content_type="text/plain")
async def metrics(call: Call) -> web.Response:
    ctx = call.ctx
    if ctx.actors is not None:
        ctx.metrics.observe_actors(ctx.actors.snapshot())
    await ctx.metrics.refresh()
    body, content_type = ctx.metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})
