"""Cache port on Redis, PostgreSQL and in memory (and Redis down), EventBus on NATS and in memory."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import nats
import pytest

from sigec_actors.adapters.memory_bus import MemoryEventBus
from sigec_actors.adapters.memory_cache import MemoryCache
from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_cache import PgCache
from sigec_actors.adapters.redis_cache import RedisCache, cache_from_url
from sigec_actors.domain.errors import BusTimeout, CacheUnavailable, NoResponders
from sigec_actors.ports import BusMessage, Cache, DbPool, EventBus


@pytest.fixture(params=["memory", "redis", "pg"])
async def cache(request: pytest.FixtureRequest, migrated_pg_dsn: str) -> AsyncIterator[Cache]:
    if request.param == "pg":
        pool = await create_pool(migrated_pg_dsn, max_size=2)
        yield PgCache(pool)
        await pool.close()
        return
    c: Cache = (MemoryCache() if request.param == "memory"
                else RedisCache.from_url(request.getfixturevalue("redis_url"),
                                         prefix=f"test:{uuid.uuid4().hex}:"))
    yield c
    await c.close()


async def test_cache_get_set_ttl_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v", ttl_s=30)
    assert await cache.get("k") == b"v"
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.set("short", b"v", ttl_s=0.05)
    await asyncio.sleep(0.15)
    assert await cache.get("short") is None


async def test_cache_fixed_window_counter(cache: Cache) -> None:
    base = uuid.uuid4().hex  # the PostgreSQL store outlives a test: keys of its own
    assert [await cache.hit(base + "login:a@b", window_s=1) for _ in range(3)] == [1, 2, 3]
    assert await cache.hit(base + "login:other", window_s=1) == 1
    await asyncio.sleep(1.1)
    assert await cache.hit(base + "login:a@b", window_s=1) == 1


async def test_cache_deny_list_until_expiry(cache: Cache) -> None:
    jti = uuid.uuid4().hex
    assert not await cache.is_denied(jti)
    await cache.deny(jti, ttl_s=0.2)
    assert await cache.is_denied(jti)
    await asyncio.sleep(0.3)
    assert not await cache.is_denied(jti)


async def test_cache_remembers_until_expiry_apart_from_the_deny_list(cache: Cache) -> None:
    key = f"login:known:{uuid.uuid4().hex}:127.0.0.1"
    assert not await cache.remembers(key)
    await cache.remember(key, ttl_s=0.2)
    assert await cache.remembers(key)
    assert not await cache.is_denied(key)  # a remembered fact is not a deny-list entry
    await cache.deny(key + ":d", ttl_s=30)
    assert not await cache.remembers(key + ":d")
    await asyncio.sleep(0.3)
    assert not await cache.remembers(key)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_down_reads_fail_open_auth_fails_closed(pg_pool: DbPool) -> None:
    cache = cache_from_url(f"redis://127.0.0.1:{_closed_port()}/0", pg_pool)
    assert isinstance(cache, RedisCache)
    try:
        assert await cache.get("k") is None
        await cache.set("k", b"v", ttl_s=10)
        await cache.delete("k")
        with pytest.raises(CacheUnavailable) as info:
            await cache.hit("login:x", window_s=60)
        assert info.value.operation == "rate limit"
        with pytest.raises(CacheUnavailable):
            await cache.deny("jti", ttl_s=60)
        with pytest.raises(CacheUnavailable):
            await cache.is_denied("jti")
        with pytest.raises(CacheUnavailable):
            await cache.remembers("login:known:a:b")
        assert not await cache.ping()
    finally:
        await cache.close()


async def test_cache_factory_without_url_is_postgresql(pg_pool: DbPool) -> None:
    assert isinstance(cache_from_url(None, pg_pool), PgCache)
    assert isinstance(cache_from_url("", pg_pool), PgCache)


async def test_pg_cache_prune_deletes_only_expired_rows(pg_pool: DbPool) -> None:
    cache = PgCache(pg_pool)
    base = uuid.uuid4().hex
    for name, ttl in (("gone", 1), ("kept", 60)):
        await cache.hit(base + name, window_s=ttl)
        await cache.deny(base + name, ttl_s=ttl)
    await asyncio.sleep(1.1)
    assert await cache.prune() >= 2
    async with pg_pool.acquire() as conn:
        rows = await conn.fetch("SELECT key FROM rate_counters WHERE key LIKE $1 UNION ALL"
                                " SELECT key FROM denied_keys WHERE key LIKE $1", base + "%")
    assert [r["key"] for r in rows] == [base + "kept"] * 2
    assert await cache.hit(base + "kept", window_s=60) == 2
    assert await cache.is_denied(base + "kept")


async def test_pg_cache_fails_closed_when_the_database_is_gone(migrated_pg_dsn: str) -> None:
    pool = await create_pool(migrated_pg_dsn, max_size=1)
    cache = PgCache(pool)
    await cache.set("k", b"v", ttl_s=30)
    await pool.close()
    assert await cache.get("k") == b"v"  # the verified-password shortcut is process memory
    with pytest.raises(CacheUnavailable):
        await cache.hit("login:x", window_s=60)
    with pytest.raises(CacheUnavailable):
        await cache.deny("jti", ttl_s=60)
    with pytest.raises(CacheUnavailable):
        await cache.is_denied("jti")
    with pytest.raises(CacheUnavailable):
        await cache.remember("login:known:a:b", ttl_s=60)
    await cache.close()


@pytest.fixture(params=["memory", "nats"])
def bus_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else request.getfixturevalue("nats_url")


@pytest.fixture
async def bus(bus_url: str | None) -> AsyncIterator[EventBus]:
    if bus_url is None:
        yield MemoryEventBus()
        return
    nc = await nats.connect(bus_url)
    yield NatsEventBus(nc)
    await nc.close()


async def test_bus_publish_subscribe_with_wildcards(bus: EventBus) -> None:
    base = f"sigec.test.{uuid.uuid4().hex}"
    got: asyncio.Queue[BusMessage] = asyncio.Queue()

    async def on_msg(msg: BusMessage) -> None:
        await got.put(msg)

    sub = await bus.subscribe(base + ".*.cmd", on_msg)
    await bus.publish(base + ".CP1.cmd", b"hello", headers={"X-Id": "1"})
    await bus.publish(base + ".CP1.other", b"ignored")
    msg = await asyncio.wait_for(got.get(), 2)
    assert (msg.subject, msg.data) == (base + ".CP1.cmd", b"hello")
    assert msg.headers == {"X-Id": "1"}
    await sub.unsubscribe()
    await bus.publish(base + ".CP1.cmd", b"after")
    await asyncio.sleep(0.1)
    assert got.empty()


async def test_bus_request_reply_and_errors(bus: EventBus) -> None:
    subject = f"sigec.cp.{uuid.uuid4().hex}.cmd"

    async def answer(msg: BusMessage) -> bytes:
        return b"re:" + msg.data

    with pytest.raises(NoResponders):
        await bus.request(subject, b"x", timeout_s=1)
    sub = await bus.subscribe(subject, answer, queue="nodes")
    assert await bus.request(subject, b"ping", timeout_s=2) == b"re:ping"
    await sub.unsubscribe()

    async def silent(msg: BusMessage) -> None:
        await asyncio.sleep(5)

    slow = await bus.subscribe(subject, silent)
    with pytest.raises(BusTimeout):
        await bus.request(subject, b"x", timeout_s=0.2)
    await slow.unsubscribe()


async def test_bus_queue_group_delivers_once(bus: EventBus) -> None:
    subject = f"sigec.q.{uuid.uuid4().hex}"
    seen: list[str] = []

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def on_msg(msg: BusMessage) -> None:
            seen.append(name)
        return on_msg

    subs = [await bus.subscribe(subject, handler(n), queue="workers") for n in ("a", "b")]
    for _ in range(10):
        await bus.publish(subject, b"job")
    await asyncio.sleep(0.2)
    assert len(seen) == 10
    for s in subs:
        await s.unsubscribe()
