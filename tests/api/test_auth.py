"""Accounts and sessions: register, login, refresh rotation and reuse, logout, throttling (A4-A6)."""

from __future__ import annotations

import socket
import uuid

import pytest

from api.context import AppContext
from sigec_actors.adapters.redis_cache import RedisCache
from tests.api.harness import PASSWORD, Api, start_api

LOGIN = "/api/v1/auth/login"


async def _login(api: Api, email: str = "user@example.com", password: str = PASSWORD,
                 status: int = 200) -> dict[str, object]:
    body: dict[str, object] = await api.json(
        "POST", LOGIN, json={"email": email, "password": password}, status=status)
    return body


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_creates_a_user_account(api: Api) -> None:
    body = await api.json("POST", "/api/v1/auth/register", status=201, json={
        "name": "Ana", "email": "ana@example.com", "password": "a long passphrase"})
    assert body["role"] == "user" and body["email"] == "ana@example.com"
    assert set(body) == {"id", "name", "email", "role", "status", "createdAt"}
    tokens = await _login(api, "ANA@example.com", "a long passphrase")
    me = await api.json("GET", "/api/v1/users/me", headers=_bearer(tokens["accessToken"]))
    assert me["id"] == body["id"]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "A", "email": "a@example.com", "password": "long enough!", "role": "admin"},
     "role"),
    ({"name": "A", "email": "a@example.com", "password": "long enough!", "isAdmin": True},
     "isAdmin"),
    ({"name": "A", "email": "a@example.com", "password": "short"}, "password"),
    ({"name": "A", "email": "not-an-email", "password": "long enough!"}, "email"),
    ({"name": "A", "password": "long enough!"}, "email"),
    ({"name": 3, "email": "a@example.com", "password": "long enough!"}, "name"),
])
async def test_register_rejects_invalid_and_extra_fields(api: Api, body: dict[str, object],
                                                         field: str) -> None:
    problem = await api.json("POST", "/api/v1/auth/register", json=body, status=422)
    assert problem["field"] == field and problem["status"] == 422
    assert problem["title"] and problem["type"] == "about:blank"


async def test_register_duplicate_email_is_409(api: Api) -> None:
    await api.json("POST", "/api/v1/auth/register", status=409, json={
        "name": "U", "email": "USER@example.com", "password": "long enough!"})


async def test_malformed_json_is_400_problem(api: Api) -> None:
    resp = await api.call("POST", LOGIN, data=b"{nope", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.content_type == "application/problem+json"
    resp = await api.call("POST", LOGIN)
    assert resp.status == 400


async def test_login_returns_bearer_tokens(api: Api) -> None:
    tokens = await _login(api)
    assert tokens["tokenType"] == "Bearer"
    assert 0 < int(str(tokens["expiresIn"])) <= 900
    me = await api.json("GET", "/api/v1/users/me", headers=_bearer(tokens["accessToken"]))
    assert me["email"] == "user@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(api: Api) -> None:
    a = await _login(api, password="wrong password", status=401)
    b = await _login(api, email="nobody@example.com", status=401)
    assert a == b


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    first = await _login(api)
    second = await api.json("POST", "/api/v1/auth/refresh",
                            json={"refreshToken": first["refreshToken"]})
    assert second["refreshToken"] != first["refreshToken"]
    await api.json("GET", "/api/v1/users/me", headers=_bearer(second["accessToken"]))
    # the rotated token comes back (stolen?): 401, and the whole family is revoked
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": first["refreshToken"]})
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": second["refreshToken"]})
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": "never-issued"})


async def test_logout_revokes_refresh_and_deny_lists_access(api: Api) -> None:
    tokens = await _login(api)
    resp = await api.call("POST", "/api/v1/auth/logout", headers=_bearer(tokens["accessToken"]),
                          json={"refreshToken": tokens["refreshToken"]})
    assert resp.status == 204
    await api.json("GET", "/api/v1/users/me", headers=_bearer(tokens["accessToken"]),
                   status=401)
    await api.json("POST", "/api/v1/auth/refresh", status=401,
                   json={"refreshToken": tokens["refreshToken"]})


async def test_logout_cannot_revoke_another_users_refresh_token(api: Api) -> None:
    mine = await _login(api)
    resp = await api.call("POST", "/api/v1/auth/logout", "other",
                          json={"refreshToken": mine["refreshToken"]})
    assert resp.status == 204
    await api.json("POST", "/api/v1/auth/refresh", json={"refreshToken": mine["refreshToken"]})


async def test_account_locks_for_the_address_after_five_failures(api: Api) -> None:
    for _ in range(5):
        await _login(api, password="wrong password", status=401)
    resp = await api.call("POST", LOGIN, json={"email": "user@example.com",
                                               "password": PASSWORD})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) == 900
    await _login(api, email="other@example.com")  # other accounts are unaffected


async def test_ip_limited_to_30_attempts_per_minute(api: Api) -> None:
    cache = api.ctx.cache
    assert cache is not None
    for _ in range(30):  # 30 attempts already counted for this client's address
        await cache.hit("login:ip:127.0.0.1", 60)
    resp = await api.call("POST", LOGIN, json={"email": "user@example.com",
                                               "password": PASSWORD})
    assert resp.status == 429 and resp.headers["Retry-After"] == "60"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_cache_down_fails_closed() -> None:
    cache = RedisCache.from_url(f"redis://127.0.0.1:{_closed_port()}/0", timeout_s=0.2)
    api = await start_api(cache=cache)
    try:
        resp = await api.call("POST", LOGIN, json={"email": "user@example.com",
                                                   "password": PASSWORD})
        body = await resp.json(content_type=None)
        assert resp.status == 503 and resp.headers["Retry-After"]
        assert "redis" not in str(body).lower() and "Traceback" not in str(body)
        # the deny-list cannot be checked either: authenticated routes fail closed too
        assert (await api.call("GET", "/api/v1/users/me", "user")).status == 503
        assert (await api.call("GET", "/health/live")).status == 200
    finally:
        await api.close()
        await cache.close()


@pytest.mark.redis
async def test_sessions_on_real_redis(redis_url: str) -> None:
    cache = RedisCache.from_url(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    api = await start_api(cache=cache)
    try:
        tokens = await _login(api)
        assert (await api.call("POST", "/api/v1/auth/logout",
                               headers=_bearer(tokens["accessToken"]))).status == 204
        await api.json("GET", "/api/v1/users/me", headers=_bearer(tokens["accessToken"]),
                       status=401)
        assert await cache.is_denied("login-lock:user@example.com:127.0.0.1") is False
    finally:
        await api.close()
        await cache.close()


async def test_auth_routes_need_their_ports() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from api.app import create_app
    from sigec_actors.config import load_settings

    client = TestClient(TestServer(create_app(AppContext(settings=load_settings({})))))
    await client.start_server()
    try:
        resp = await client.post(LOGIN, json={"email": "a@example.com", "password": "x"})
        assert resp.status == 503 and resp.content_type == "application/problem+json"
    finally:
        await client.close()
