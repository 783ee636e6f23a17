"""GET /api/v1/admin/alerts and acknowledge/resolve, on the fakes and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgRefreshTokenRepository, PgUserRepository
from sigec_actors.alerts.model import Alert, NewAlert, Severity
from sigec_actors.alerts.ports import Alerts
from tests.api.harness import Api, start_api

BASE = "/api/v1/admin/alerts"


@pytest.fixture(params=["memory", pytest.param("pg", marks=pytest.mark.pg)])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the fakes, else a DSN (sync fixture: creating the database blocks)."""
    return None if request.param == "memory" else request.getfixturevalue("pg_dsn")


@pytest.fixture
async def any_api(backend: str | None) -> AsyncIterator[Api]:
    if backend is None:
        api = await start_api()
        yield api
        await api.close()
        return
    pool = await create_pool(backend, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
        await conn.execute("TRUNCATE users, charge_points, locations, alerts CASCADE")
    api = await start_api(users=PgUserRepository(pool), stations=PgStationRepository(pool),
                          refresh_tokens=PgRefreshTokenRepository(pool),
                          audit=PgAuditLog(pool), alerts=PgAlerts(pool))
    yield api
    await api.close()
    await pool.close()


def _alerts(api: Api) -> Alerts:
    assert api.ctx.alerts is not None
    return api.ctx.alerts


async def _open(api: Api, kind: str, station: str | None = None,
                severity: Severity = Severity.WARNING) -> Alert:
    new = NewAlert(severity=severity, kind=kind, message=f"{kind} on {station}",
                   charge_point_id=station, details={"x": 1}, dedupe_key=f"{kind}:{station}")
    return (await _alerts(api).open(new)).alert


async def test_operator_lists_filters_and_pages_alerts(any_api: Api) -> None:
    api = any_api
    first = await _open(api, "security_event", "CP-1", Severity.CRITICAL)
    second = await _open(api, "session_new_ip", "CP-2")
    third = await _open(api, "transaction_incomplete", "CP-1")
    page = await api.json("GET", BASE, "operator")
    assert [i["id"] for i in page["items"]] == [str(third.id), str(second.id), str(first.id)]
    assert page | {"items": None} == {"items": None, "total": 3, "limit": 50, "offset": 0}
    item = page["items"][2]
    assert item == {"id": str(first.id), "status": "open", "severity": "critical",
                    "kind": "security_event", "message": "security_event on CP-1",
                    "chargePointId": "CP-1", "details": {"x": 1},
                    "createdAt": item["createdAt"], "acknowledgedAt": None,
                    "acknowledgedBy": None, "resolvedAt": None}
    by_station = await api.json("GET", f"{BASE}?chargePointId=CP-1&limit=1&offset=1", "admin")
    assert [i["id"] for i in by_station["items"]] == [str(first.id)]
    assert by_station["total"] == 2
    critical = await api.json("GET", f"{BASE}?severity=critical&kind=security_event",
                              "operator")
    assert [i["id"] for i in critical["items"]] == [str(first.id)]
    assert (await api.json("GET", f"{BASE}?status=resolved", "operator"))["total"] == 0


async def test_acknowledge_then_resolve_audited_and_resolved_is_409(any_api: Api) -> None:
    api = any_api
    alert = await _open(api, "security_event", "CP-1", Severity.CRITICAL)
    acked = await api.json("POST", f"{BASE}/{alert.id}/acknowledge", "operator")
    assert acked["status"] == "acknowledged" and acked["acknowledgedBy"] == api.ids["operator"]
    again = await api.json("POST", f"{BASE}/{alert.id}/acknowledge", "admin")
    assert again["acknowledgedBy"] == api.ids["operator"]  # the first one keeps it
    assert (await api.json("GET", BASE, "operator"))["total"] == 0  # no longer open
    listed = await api.json("GET", f"{BASE}?status=acknowledged", "operator")
    assert [i["id"] for i in listed["items"]] == [str(alert.id)]

    resolved = await api.json("POST", f"{BASE}/{alert.id}/resolve", "operator")
    assert resolved["status"] == "resolved" and resolved["resolvedAt"] is not None
    for action in ("resolve", "acknowledge"):
        resp = await api.call("POST", f"{BASE}/{alert.id}/{action}", "operator")
        problem = await resp.json(content_type=None)
        assert resp.status == 409 and resp.content_type == "application/problem+json"
        assert problem["status"] == 409 and "already resolved" in problem["detail"]
    everything = await api.json("GET", f"{BASE}?status=all", "operator")
    assert [i["status"] for i in everything["items"]] == ["resolved"]

    audit = api.ctx.audit
    assert audit is not None
    records = await audit.recent(10, target_type="alert", target_id=str(alert.id))
    assert [(r.entry.action, r.entry.actor_id) for r in records] == [
        ("alert.resolve", api.ids["operator"]), ("alert.acknowledge", api.ids["admin"]),
        ("alert.acknowledge", api.ids["operator"])]
    assert records[0].entry.details == {"kind": "security_event", "chargePointId": "CP-1"}


async def test_unknown_alert_is_404_and_nothing_is_audited(any_api: Api) -> None:
    api = any_api
    audit = api.ctx.audit
    assert audit is not None
    before = await audit.recent(1)  # the PostgreSQL audit log outlives each test
    for raw in (str(uuid.uuid4()), "not-a-uuid"):
        for action in ("acknowledge", "resolve"):
            resp = await api.call("POST", f"{BASE}/{raw}/{action}", "operator")
            assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert await audit.recent(1) == before


@pytest.mark.parametrize("query", [
    "status=closed", "severity=fatal", "limit=0", "limit=201", "offset=-1", "kind=",
    "chargePointId=" + "x" * 49, "chargePointId=CP:1", "kind=Security", "color=red",
])
async def test_bad_queries_are_422_naming_the_field(api: Api, query: str) -> None:
    resp = await api.call("GET", f"{BASE}?{query}", "operator")
    problem = await resp.json(content_type=None)
    assert resp.status == 422, problem
    assert problem["where"] == "query" and problem["field"] == query.split("=", maxsplit=1)[0]


async def test_users_may_not_see_or_touch_alerts(api: Api) -> None:
    alert = await _open(api, "security_event", "CP-1")
    await api.json("GET", BASE, "user", status=403)
    await api.json("POST", f"{BASE}/{alert.id}/resolve", "user", status=403)
    await api.json("POST", f"{BASE}/{alert.id}/resolve", None, status=401)
    assert (await _alerts(api).get(alert.id)) == alert
