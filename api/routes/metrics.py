"""Prometheus scrape endpoint."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.routing import Call, Resource
from sigec_actors.admin_surface.cluster_metrics import ClusterMetrics

resource = Resource("metrics")
routes = resource.table
EXTRAS_KEY = "metrics.cluster"  # sigec_actors.admin_surface.wiring.METRICS_KEY


@resource.get("/metrics", "Prometheus text exposition of the whole cluster (label `node`)",
              role=None, content_type="text/plain")
async def metrics(call: Call) -> web.Response:
    ctx = call.ctx
    cluster = ctx.extras.get(EXTRAS_KEY)
    if isinstance(cluster, ClusterMetrics):  # every node's families, merged (issue 20)
        return web.Response(body=await cluster.gather(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})
    if ctx.actors is not None:
        ctx.metrics.observe_actors(ctx.actors.snapshot())
    await ctx.metrics.refresh()
    body, content_type = ctx.metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})
