"""Redis Cache: shared across nodes; reads fail open, auth-critical operations fail closed."""

from __future__ import annotations

import math

import redis.asyncio as aioredis
import redis.exceptions
import structlog

from sigec_actors.adapters.memory_cache import REMEMBERED
from sigec_actors.adapters.pg_cache import PgCache
from sigec_actors.domain.errors import CacheUnavailable
from sigec_actors.ports import Cache, DbPool

log = structlog.get_logger("cache")

_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisCache:
    """The Cache port on Redis. Keys live under `prefix` so several deployments can share one.

    Redis down: `get` is a miss, `set`/`delete` are skipped (fail open: the cache is never
    authoritative); `hit` (rate limits) and `deny`/`is_denied` (token deny-list) raise
    CacheUnavailable (fail closed: callers refuse the login or the token).
    """

    def __init__(self, client: aioredis.Redis, prefix: str = "sigec:") -> None:
        self._r = client
        self._p = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "sigec:", timeout_s: float = 0.5) -> RedisCache:
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s,
            retry_on_timeout=False, health_check_interval=30)
        return cls(client, prefix)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._r.get(self._p + "c:" + key)
        except _DOWN as exc:
            log.warning("cache_get_failed_open", key=key, error=str(exc))
            return None
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            await self._r.set(self._p + "c:" + key, value, px=max(1, int(ttl_s * 1000)))
        except _DOWN as exc:
            log.warning("cache_set_skipped", key=key, error=str(exc))

    async def delete(self, key: str) -> None:
        try:
            await self._r.delete(self._p + "c:" + key)
        except _DOWN as exc:
            log.warning("cache_delete_skipped", key=key, error=str(exc))

    async def hit(self, key: str, window_s: int) -> int:
        name = self._p + "rl:" + key
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_s, nx=True)
                count, _ = await pipe.execute()
        except _DOWN as exc:
            raise CacheUnavailable("rate limit", str(exc)) from exc
        return int(count)

    async def deny(self, jti: str, ttl_s: float) -> None:
        if ttl_s <= 0:
            return  # already expired: nothing to deny
        try:
            await self._r.set(self._p + "deny:" + jti, b"1", px=math.ceil(ttl_s * 1000))
        except _DOWN as exc:
            raise CacheUnavailable("deny-list add", str(exc)) from exc

    async def is_denied(self, jti: str) -> bool:
        try:
            return bool(await self._r.exists(self._p + "deny:" + jti))
        except _DOWN as exc:
            raise CacheUnavailable("deny-list check", str(exc)) from exc

    async def remember(self, key: str, ttl_s: float) -> None:
        await self.deny(REMEMBERED + key, ttl_s)

    async def remembers(self, key: str) -> bool:
        return await self.is_denied(REMEMBERED + key)

    async def ping(self) -> bool:
        """True when Redis answers (for /health/ready)."""
        try:
            return bool(await self._r.ping())
        except _DOWN:
            return False

    async def close(self) -> None:
        await self._r.aclose()


def cache_from_url(url: str | None, pool: DbPool, *, prefix: str = "sigec:") -> Cache:
    """A RedisCache for a redis:// URL; without one, a PgCache on `pool`, so rate limits and
    the deny-list are shared by every node either way (never per process)."""
    if not url:
        return PgCache(pool)
    return RedisCache.from_url(url, prefix=prefix)
