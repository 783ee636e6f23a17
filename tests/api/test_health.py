"""Health probes: live always, ready only when every check passes, 503 naming what fails."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.context import AppContext
from sigec_actors.config import load_settings


async def _client(checks: dict[str, object]) -> TestClient:  # type: ignore[type-arg]
    ctx = AppContext(settings=load_settings({}), readiness=checks)  # type: ignore[arg-type]
    client = TestClient(TestServer(create_app(ctx)))
    await client.start_server()
    return client


async def ok() -> str | None:
    return None


async def down() -> str | None:
    return "not connected"


async def hangs() -> str | None:
    await asyncio.sleep(60)
    return None


async def refuses() -> str | None:
    raise ConnectionRefusedError


async def test_ready_when_all_checks_pass() -> None:
    client = await _client({"database": ok, "nats": ok, "migrations": ok})
    resp = await client.get("/health/ready")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"database": "ok", "nats": "ok", "migrations": "ok"}
    assert (await client.get("/health/live")).status == 200
    await client.close()


async def test_not_ready_names_failing_checks() -> None:
    client = await _client({"database": refuses, "nats": down, "migrations": hangs})
    resp = await client.get("/health/ready")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["nats"] == "not connected"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["migrations"] == "timed out"
    # liveness does not depend on dependencies
    assert (await client.get("/health/live")).status == 200
    await client.close()


async def test_unknown_route_is_problem_json() -> None:
    client = await _client({})
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == 404 and body["title"]
    await client.close()
