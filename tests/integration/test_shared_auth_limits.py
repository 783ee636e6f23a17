"""Without Redis, logout and login lockout hold on every node (the store is PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.redis_cache import cache_from_url
from sigec_actors.config import load_settings
from tests.api.harness import PASSWORD, Api, start_api
from tests.api.sources import from_source

pytestmark = pytest.mark.pg

LOGIN = "/api/v1/auth/login"


@pytest.fixture
async def nodes(migrated_pg_dsn: str) -> AsyncIterator[tuple[Api, Api]]:
    """Two API nodes as `sigec serve` builds them without REDIS_URL: each its own pool and
    cache on one database; users and refresh tokens are shared as the database shares them."""
    pools = [await create_pool(migrated_pg_dsn, max_size=4) for _ in range(2)]
    caches = [cache_from_url(None, pool) for pool in pools]
    a = await start_api(cache=caches[0])
    b = await start_api(cache=caches[1], users=a.ctx.users, stations=a.ctx.stations,
                        refresh_tokens=a.ctx.refresh_tokens, seed=False)
    yield a, b
    for api in (a, b):
        await api.close()
    for cache, pool in zip(caches, pools, strict=True):
        await cache.close()
        await pool.close()


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(api: Api, email: str, password: str = PASSWORD) -> int:
    resp = await api.call("POST", LOGIN, json={"email": email, "password": password})
    return resp.status


async def test_a_token_logged_out_on_one_node_is_refused_on_the_other(
        nodes: tuple[Api, Api]) -> None:
    a, b = nodes
    tokens = await a.json("POST", LOGIN, json={"email": "other@example.com",
                                               "password": PASSWORD})
    access = tokens["accessToken"]
    assert (await b.call("GET", "/api/v1/users/me", headers=bearer(access))).status == 200
    assert (await a.call("POST", "/api/v1/auth/logout", headers=bearer(access))).status == 204
    statuses = [(await node.call("GET", "/api/v1/users/me", headers=bearer(access))).status
                for node in (a, b) * 10]
    assert statuses == [401] * 20


async def test_failed_logins_spread_over_nodes_lock_the_account(
        nodes: tuple[Api, Api]) -> None:
    a, b = nodes
    failures = [await login(node, "user@example.com", "not the password")
                for node in (a, b, a, b, a)]
    assert failures == [401] * 5
    # Five failures in the cluster lock the account (for this address) on every node.
    assert await login(a, "user@example.com") == 429
    assert await login(b, "user@example.com") == 429


async def test_an_address_known_on_one_node_is_known_on_the_other(
        migrated_pg_dsn: str) -> None:
    """A guarded account (distributed guessing) admits the addresses it logged in from on any
    node, because the node that saw the login remembers it in the shared store."""
    settings = load_settings({}, overrides={"auth.login_failures_per_account": 4})
    pools = [await create_pool(migrated_pg_dsn, max_size=4) for _ in range(2)]
    caches = [cache_from_url(None, pool) for pool in pools]
    a = await start_api(cache=caches[0], settings=settings)
    b = await start_api(cache=caches[1], settings=settings, users=a.ctx.users,
                        stations=a.ctx.stations, refresh_tokens=a.ctx.refresh_tokens,
                        seed=False)
    try:
        email = "other@example.com"  # user@ is locked from 127.0.0.1 by the test above
        assert (await from_source(a, "127.0.0.1", "POST", LOGIN,
                                  json={"email": email, "password": PASSWORD}))[0] == 200
        for node, source in ((a, "127.0.0.2"), (b, "127.0.0.3")) * 2:
            status = (await from_source(node, source, "POST", LOGIN,
                                        json={"email": email, "password": "wrong one"}))[0]
            assert status == 401
        strange = await from_source(b, "127.0.0.5", "POST", LOGIN,
                                    json={"email": email, "password": PASSWORD})
        assert strange[0] == 429  # the account is guarded on every node
        known = await from_source(b, "127.0.0.1", "POST", LOGIN,
                                  json={"email": email, "password": PASSWORD})
        assert known[0] == 200  # ...and node b knows the address node a saw
    finally:
        for api in (a, b):
            await api.close()
        for cache, pool in zip(caches, pools, strict=True):
            await cache.close()
            await pool.close()
