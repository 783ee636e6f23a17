"""PATCH /admin/users/{id} (suspension cuts sessions at once) and PATCH / DELETE
/admin/stations/{id} on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.testing import FakeActors
from sigec_actors.domain.records import IdTokenType
from sigec_actors.ports import DbPool
from tests.api.harness import PASSWORD, PASSWORDS, Api
from tests.transactions.builders import T0
from tests.transactions.conftest import pg_world

pytestmark = pytest.mark.pg
USERS = "/api/v1/admin/users"
STATIONS = "/api/v1/admin/stations"


async def _login(api: Api, who: str, status: int = 200) -> Any:
    return await api.json("POST", "/api/v1/auth/login", status=status,
                          json={"email": f"{who}@example.com", "password": PASSWORD})


async def _me(api: Api, access: str) -> int:
    resp = await api.call("GET", "/api/v1/users/me",
                          headers={"Authorization": f"Bearer {access}"})
    await resp.read()
    return resp.status


async def test_suspension_cuts_tokens_and_refresh_families_at_once(pg_api: Api) -> None:
    api = pg_api
    first, second = await _login(api, "user"), await _login(api, "user")
    assert await _me(api, first["accessToken"]) == 200
    body = await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin",
                          json={"status": "suspended"})
    assert body["status"] == "suspended"
    for pair in (first, second):  # every access token and every refresh family, at once
        assert await _me(api, pair["accessToken"]) == 401
        await api.json("POST", "/api/v1/auth/refresh", status=401,
                       json={"refreshToken": pair["refreshToken"]})
    await _login(api, "user", status=401)
    assert await _me(api, api.tokens["other"]) == 200  # nobody else is touched
    await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin", json={"status": "active"})
    api.clock.advance(61)  # tokens of the suspension's minute stay refused
    again = await _login(api, "user")
    assert await _me(api, again["accessToken"]) == 200
    audit = api.ctx.audit
    assert audit is not None
    entries = [r.entry for r in await audit.recent(5, target_type="user")]
    assert [(e.action, e.details["status"]) for e in entries] == [
        ("user.update", "active"), ("user.update", "suspended")]


async def test_role_change_ends_old_tokens(pg_api: Api) -> None:
    api = pg_api
    old = await _login(api, "user")
    body = await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin",
                          json={"role": "operator"})
    assert body["role"] == "operator"
    assert await _me(api, old["accessToken"]) == 401
    api.clock.advance(61)
    new = await _login(api, "user")
    resp = await api.call("GET", "/api/v1/admin/alerts",
                          headers={"Authorization": f"Bearer {new['accessToken']}"})
    assert resp.status == 200


async def test_user_patch_refusals(pg_api: Api) -> None:
    api = pg_api
    await api.json("PATCH", f"{USERS}/{api.ids['admin']}", "admin", status=409,
                   json={"role": "user"})
    await api.json("PATCH", f"{USERS}/{api.ids['admin']}", "admin", json={"role": "admin"})
    await api.json("PATCH", f"{USERS}/00000000-0000-0000-0000-000000000000", "admin",
                   status=404, json={"status": "active"})
    problem = await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin", status=422,
                             json={"status": "deleted"})
    assert problem["field"] == "status"
    await api.json("PATCH", f"{USERS}/{api.ids['user']}", "operator", status=403,
                   json={"status": "suspended"})


async def test_station_patch(pg_api: Api) -> None:
    api = pg_api
    body = await api.json("PATCH", f"{STATIONS}/CP-2", "admin", json={
        "vendor": "Efacec", "model": "QC45", "securityProfile": 2,
        "v2g": {"mode": "v201_negative_limit", "maxDischargeW": 7000},
        "location": {"name": "Shopping Iguatemi", "latitude": -3.75, "longitude": -38.49}})
    station = body["station"]
    assert (station["vendor"], station["model"], station["securityProfile"]) == (
        "Efacec", "QC45", 2)
    assert body["password"] is None  # CP-2 had a password: it is kept
    assert body["supported"] is True and body["maxDischargeW"] == 7000  # its V2G capability
    stations = api.ctx.stations
    assert stations is not None
    loc = await stations.get_location(uuid.UUID(station["locationId"]))
    assert loc is not None and loc.name == "Shopping Iguatemi"
    moved = await api.json("PATCH", f"{STATIONS}/CP-4", "admin", json={"securityProfile": 1,
                                                                        "locationId": None})
    assert moved["password"]  # CP-4 was on profile 3 (no password): one is generated
    creds = await stations.credentials("CP-4")
    assert creds is not None and creds.security_profile == 1 and creds.password_hash
    assert await PASSWORDS.verify(creds.password_hash, moved["password"])
    await api.json("PATCH", f"{STATIONS}/CP-1", "admin", status=422,
                   json={"locationId": "00000000-0000-0000-0000-000000000000"})
    await api.json("PATCH", f"{STATIONS}/NOPE", "admin", status=404, json={"vendor": "x"})
    audit = api.ctx.audit
    assert audit is not None
    assert [r.entry.action for r in await audit.recent(5, target_type="station")] == [
        "station.update", "station.update"]


async def test_station_delete_disconnects_and_keeps_history(pg_api: Api) -> None:
    api = pg_api
    assert (await api.call("DELETE", f"{STATIONS}/CP-1", "admin")).status == 204
    actors = api.ctx.actors
    assert isinstance(actors, FakeActors)
    assert actors.actions == [("stop", "/node-1/charge-points/CP-1", api.ids["admin"])]
    stations = api.ctx.stations
    assert stations is not None
    station, creds = await stations.get("CP-1"), await stations.credentials("CP-1")
    assert station is not None and station.admin_status == "Retired"
    assert creds is not None and creds.password_hash  # a password nobody knows
    assert not await PASSWORDS.verify(creds.password_hash, PASSWORD)
    await api.json("PATCH", f"{STATIONS}/CP-1", "admin", status=409, json={"vendor": "x"})
    assert (await api.call("DELETE", f"{STATIONS}/CP-3", "admin")).status == 204
    assert len(actors.actions) == 1  # CP-3 was not connected
    await api.json("DELETE", f"{STATIONS}/NOPE", "admin", status=404)
    await api.json("DELETE", f"{STATIONS}/CP-2", "operator", status=403)


async def test_suspended_users_id_tokens_are_blocked(pg_api: Api, pool: DbPool) -> None:
    api = pg_api
    w = pg_world(pool)
    await w.tokens.add(uuid.UUID(api.ids["user"]), "CARD-SUSP", IdTokenType.ISO14443)

    async def status() -> str:
        return (await w.authorizer.check("CARD-SUSP", "ISO14443", T0)).status.value
    assert await status() == "Accepted"
    await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin", json={"status": "suspended"})
    assert await status() == "Blocked"
    await api.json("PATCH", f"{USERS}/{api.ids['user']}", "admin", json={"status": "active"})
    assert await status() == "Accepted"
