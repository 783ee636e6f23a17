"""The API on the real PostgreSQL repositories: sessions, station registration, device queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from api.errors import InvalidInput
from api.routing import decode_body
from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgRefreshTokenRepository, PgUserRepository
from tests.api.harness import PASSWORD, Api, start_api

pytestmark = pytest.mark.pg


@pytest.fixture
async def pg_api(pg_dsn: str) -> AsyncIterator[Api]:
    pool = await create_pool(pg_dsn, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
        await conn.execute("TRUNCATE users, charge_points, locations CASCADE")
    api = await start_api(users=PgUserRepository(pool), stations=PgStationRepository(pool),
                          refresh_tokens=PgRefreshTokenRepository(pool), audit=PgAuditLog(pool),
                          alerts=PgAlerts(pool))
    yield api
    await api.close()
    await pool.close()


async def test_sessions_rotate_and_revoke_in_postgres(pg_api: Api) -> None:
    api = pg_api
    await api.json("POST", "/api/v1/auth/register", status=201, json={
        "name": "Pg", "email": "pg@example.com", "password": "a long passphrase"})
    await api.json("POST", "/api/v1/auth/register", status=409, json={
        "name": "Pg", "email": "PG@example.com", "password": "a long passphrase"})
    first = await api.json("POST", "/api/v1/auth/login",
                           json={"email": "pg@example.com", "password": "a long passphrase"})
    second = await api.json("POST", "/api/v1/auth/refresh",
                            json={"refreshToken": first["refreshToken"]})
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": first["refreshToken"]})
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": second["refreshToken"]})
    third = await api.json("POST", "/api/v1/auth/login",
                           json={"email": "user@example.com", "password": PASSWORD})
    resp = await api.call("POST", "/api/v1/auth/logout", json={
        "refreshToken": third["refreshToken"]},
        headers={"Authorization": f"Bearer {third['accessToken']}"})
    assert resp.status == 204
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": third["refreshToken"]})


async def test_stations_and_devices_in_postgres(pg_api: Api) -> None:
    api = pg_api
    created = await api.json("POST", "/api/v1/admin/stations", "admin", status=201, json={
        "id": "PG-1", "securityProfile": 2,
        "location": {"name": "Beira Mar", "latitude": -3.70, "longitude": -38.45}})
    assert created["password"]
    await api.json("POST", "/api/v1/admin/stations", "admin", status=409,
                   json={"id": "PG-1", "securityProfile": 1})
    near = await api.json("GET", "/api/v1/devices/nearby?lat=-3.7319&lng=-38.5267&radiusKm=15",
                          "user")
    assert [i["device"]["id"] for i in near["items"]] == ["CP-1", "CP-2", "PG-1"]
    page = await api.json("GET", "/api/v1/devices?limit=2&offset=0&status=offline", "user")
    assert page["total"] == 5 and [d["id"] for d in page["items"]] == ["CP-1", "CP-2"]
    detail = await api.json("GET", "/api/v1/devices/PG-1", "user")
    assert detail["location"]["name"] == "Beira Mar"
    changed = await api.json("PUT", "/api/v1/admin/stations/PG-1/password", "admin")
    assert changed["pushed"] is False and changed["password"]
    users = await api.json("GET", "/api/v1/admin/users", "admin")
    assert users["total"] == 4 and "$argon2" not in str(users)
    audit = api.ctx.audit
    assert audit is not None
    assert [r.entry.action for r in await audit.recent(5, target_id="PG-1")] == [
        "station.password", "station.register"]


@pytest.mark.parametrize(("path", "field", "where"), [
    ("/api/v1/devices?offset=9223372036854775808", "offset", "query"),  # int64 + 1
    ("/api/v1/devices?offset=99999999999999999999999", "offset", "query"),
    ("/api/v1/admin/alerts?kind=a%00b", "kind", "query"),
    ("/api/v1/admin/alerts?chargePointId=%00", "chargePointId", "query"),
    ("/api/v1/devices/CP%00-1", "id", "path"),
])
async def test_out_of_range_integers_and_nul_are_422_not_500(
        pg_api: Api, path: str, field: str, where: str) -> None:
    """PostgreSQL refuses both (bigint overflow, NUL in text): the API names the parameter."""
    problem = await pg_api.json("GET", path, "admin", status=422)
    assert (problem["field"], problem["where"]) == (field, where)


async def test_the_largest_int64_offset_is_accepted(pg_api: Api) -> None:
    page = await pg_api.json("GET", "/api/v1/devices?offset=9223372036854775807", "user")
    assert page["items"] == []


async def test_nul_in_a_json_body_is_422_naming_the_field(pg_api: Api) -> None:
    """A NUL (\\u0000) in a body string reached PostgreSQL and answered 500 (register is public)."""
    person = {"email": "nul@example.com", "password": "a long passphrase"}
    problem = await pg_api.json("POST", "/api/v1/auth/register", status=422,
                                json={"name": "A\u0000B", **person})
    assert (problem["field"], problem["where"]) == ("name", "body")
    created = await pg_api.json("POST", "/api/v1/auth/register", status=201,
                                json={"name": "A\\u0000B", **person})  # the six characters
    assert created["name"] == "A\\u0000B"


class _Nested(msgspec.Struct):
    items: list[dict[str, Any]]


@pytest.mark.parametrize(("raw", "field"), [
    (rb'{"items":[{"a":"x"},{"b":["ok","y\u0000"]}]}', "items[1].b[1]"),
    (rb'{"items":[{"k\u0000":1}]}', "items[0].k\x00"),
])
def test_a_nul_is_named_by_its_path_in_the_body(raw: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_body(_Nested, raw)
    assert (refused.value.field, refused.value.where) == (field, "body")
    assert decode_body(_Nested, rb'{"items":[{"a":"\\u0000"}]}').items == [{"a": "\\u0000"}]
