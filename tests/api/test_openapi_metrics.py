"""The OpenAPI document covers every registered route; /metrics exposes the node's metrics."""

from __future__ import annotations

from aiohttp import web

from api.app import PAGES, route_specs
from sigec_actors.runtime.snapshot import ActorSnapshot
from sigec_actors.services.metrics import Metrics
from tests.api.harness import Api


async def test_every_registered_route_is_documented(api: Api) -> None:
    doc = await api.json("GET", "/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.1")
    app: web.Application = api.client.app  # type: ignore[assignment]
    pages = {(r.method, r.path) for table in PAGES for r in table
             if isinstance(r, web.RouteDef)}
    registered = {(r.method, r.resource.canonical) for r in app.router.routes()
                  if r.resource is not None and r.method != "HEAD"} - pages
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert registered == documented
    assert len(documented) == len(route_specs())


async def test_operations_carry_roles_bodies_and_problem_errors(api: Api) -> None:
    doc = await api.json("GET", "/api/v1/openapi.json")
    schemas = doc["components"]["schemas"]
    for spec in route_specs():
        op = doc["paths"][spec.path][spec.method.lower()]
        assert op["operationId"] == spec.operation_id and op["summary"]
        assert op.get("x-required-role") == (spec.role.value if spec.role else None)
        assert ("security" in op) == (spec.role is not None)
        if spec.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] == spec.body.__name__
            assert schemas[spec.body.__name__].get("additionalProperties") is False
        for code, response in op["responses"].items():
            if int(code) >= 400:
                assert "application/problem+json" in response["content"]
    start = doc["paths"]["/api/v1/devices/{id}/remote-start"]["post"]
    assert start["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "RequestStartTransactionResponse")
    assert {"409", "422", "502", "503", "504"} <= set(start["responses"])
    nearby = doc["paths"]["/api/v1/devices/nearby"]["get"]
    lat = next(p for p in nearby["parameters"] if p["name"] == "lat")
    assert lat["required"] and lat["schema"]["minimum"] == -90
    assert "passwordHash" not in str(schemas)


async def test_metrics_count_http_requests_by_route_template(api: Api) -> None:
    await api.json("GET", "/api/v1/devices/CP-1", "user")
    await api.json("GET", "/api/v1/devices/NOPE", "user", status=404)
    await api.call("GET", "/nowhere")
    resp = await api.call("GET", "/metrics")
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert ('sigec_http_requests_total{method="GET",route="/api/v1/devices/{id}",status="200"}'
            ' 1.0') in text
    assert 'route="/api/v1/devices/{id}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "sigec_connected_stations 0.0" in text
    assert 'sigec_actor_mailbox_depth_max{kind="ChargePoint"} 2.0' in text


def test_metrics_objects_are_independent_and_incrementable() -> None:
    a, b = Metrics(), Metrics()
    a.connected_stations.inc()
    a.message("in", "BootNotification")
    a.message("out", "Reset")
    a.call_answered("Reset", 0.02)
    text = a.render()[0].decode()
    assert 'sigec_ocpp_messages_total{action="BootNotification",direction="in"} 1.0' in text
    assert 'sigec_ocpp_call_latency_seconds_count{action="Reset"} 1.0' in text
    assert "sigec_connected_stations 1.0" in text
    assert "sigec_connected_stations 0.0" in b.render()[0].decode()
    tree = ActorSnapshot("/n", "Node", "running", 1, 0, 0, 1.0, None, [
        ActorSnapshot("/n/a", "CP", "running", 4, 0, 0, 1.0, None, []),
        ActorSnapshot("/n/b", "CP", "running", 2, 0, 0, 1.0, None, [])])
    a.observe_actors(tree)
    hooked = Metrics()
    hooked.scrape_hooks.append(lambda m: m.connected_stations.set(7))
    assert "sigec_connected_stations 7.0" in hooked.render()[0].decode()
    text = a.render()[0].decode()
    assert 'sigec_actor_mailbox_depth{kind="CP"} 6.0' in text
    assert 'sigec_actor_mailbox_depth_max{kind="CP"} 4.0' in text
