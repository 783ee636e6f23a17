"""/metrics answers for the whole cluster: each node's samples labelled `node`, over NATS."""

from __future__ import annotations

import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.admin_surface.cluster_metrics import ClusterMetrics, Family, families
from sigec_actors.services.metrics import Metrics

pytestmark = pytest.mark.nats


def _local(node: str, metrics: Metrics):  # type: ignore[no-untyped-def]
    async def local() -> list[Family]:
        return families(metrics.registry, node)
    return local


async def test_one_scrape_shows_every_node(nats_url: str) -> None:
    a, b = Metrics(), Metrics()
    a.connected_stations.set(3)
    b.connected_stations.set(5)
    a.message("in", "Heartbeat")
    b.message("in", "Heartbeat")
    b.message("in", "Heartbeat")
    nc_a, nc_b = await nats.connect(nats_url), await nats.connect(nats_url)
    nodes = ["t-node-a", "t-node-b", "t-node-gone"]

    async def listed() -> list[str]:
        return nodes
    ca = ClusterMetrics("t-node-a", NatsEventBus(nc_a), listed)
    cb = ClusterMetrics("t-node-b", NatsEventBus(nc_b), listed)
    try:
        await ca.serve(_local("t-node-a", a))
        await cb.serve(_local("t-node-b", b))
        await nc_b.flush()  # node b's subscription is on the server before node a asks
        text = (await ca.gather()).decode()
    finally:
        await ca.close()
        await cb.close()
        await nc_a.close()
        await nc_b.close()
    assert text.count("# HELP sigec_connected_stations ") == 1
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    stations = {s.labels["node"]: s.value for s in parsed["sigec_connected_stations"].samples}
    assert stations == {"t-node-a": 3.0, "t-node-b": 5.0}
    beats = {s.labels["node"]: s.value for s in parsed["sigec_ocpp_messages"].samples
             if s.name == "sigec_ocpp_messages_total"}
    assert beats == {"t-node-a": 1.0, "t-node-b": 2.0}
    up = {s.labels["node"]: s.value for s in parsed["sigec_node_up"].samples}
    assert up == {"t-node-a": 1.0, "t-node-b": 1.0, "t-node-gone": 0.0}
