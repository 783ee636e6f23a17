"""Cache port on PostgreSQL: rate limits and the deny-list shared by every node without Redis."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from sigec_actors.adapters.memory_cache import REMEMBERED, MemoryCache
from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.batching import Batcher
from sigec_actors.domain.errors import CacheUnavailable
from sigec_actors.ports import DbPool

log = structlog.get_logger("cache")

# One atomic upsert per hit: a new key, or an expired window, starts again at 1.
_HIT = (
    "INSERT INTO rate_counters AS c (key, count, window_ends)"
    " VALUES ($1, 1, now() + make_interval(secs => $2))"
    " ON CONFLICT (key) DO UPDATE SET"
    " count = CASE WHEN c.window_ends <= now() THEN 1 ELSE c.count + 1 END,"
    " window_ends = CASE WHEN c.window_ends <= now() THEN excluded.window_ends"
    " ELSE c.window_ends END"
    " RETURNING count")
_DENY = (
    "INSERT INTO denied_keys AS d (key, until) VALUES ($1, now() + make_interval(secs => $2))"
    " ON CONFLICT (key) DO UPDATE SET until = greatest(d.until, excluded.until)")
_DENIED = "SELECT key FROM denied_keys WHERE key = ANY($1::text[]) AND until > now()"
# Bounded batches (short statements, short locks); the outer condition is re-checked on a row
# a concurrent hit renewed meanwhile, so a live window is never deleted.
_PRUNE_COUNTERS = (
    "DELETE FROM rate_counters WHERE window_ends <= now() AND key IN"
    " (SELECT key FROM rate_counters WHERE window_ends <= now() LIMIT $1)")
_PRUNE_DENIED = (
    "DELETE FROM denied_keys WHERE until <= now() AND key IN"
    " (SELECT key FROM denied_keys WHERE until <= now() LIMIT $1)")


class PgCache:
    """The Cache port on PostgreSQL, shared by every node of the cluster (no Redis needed).

    `hit`, `deny` and `is_denied` are one short statement on a primary key each and fail
    closed (CacheUnavailable when the database cannot answer). Concurrent `is_denied` calls
    (every authenticated request, every handshake) share one query (a Batcher).
    `get`/`set`/`delete` stay in this process's memory: their only user is the handshake's
    "recently verified" entry, a fail-open shortcut, so each node keeps its own (a station
    moving to another node costs one more password verification there).
    Expired rows are ignored by reads and deleted by `prune` (a periodic job of the node).
    """

    def __init__(self, pool: DbPool, *, max_batch: int = 1000, max_inflight: int = 2,
                 local: MemoryCache | None = None) -> None:
        self._pool = pool
        self._local = local or MemoryCache()
        self._denied: Batcher[str, bool] = Batcher(
            self._denied_many, max_batch=max_batch, max_inflight=max_inflight)

    async def get(self, key: str) -> bytes | None:
        return await self._local.get(key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._local.set(key, value, ttl_s)

    async def delete(self, key: str) -> None:
        await self._local.delete(key)

    async def hit(self, key: str, window_s: int) -> int:
        try:
            async with self._pool.acquire() as conn:
                return int(await conn.fetchval(_HIT, key, float(window_s)))
        except DB_FAILURES as exc:
            raise CacheUnavailable("rate limit", _problem(exc)) from exc

    async def deny(self, jti: str, ttl_s: float) -> None:
        if ttl_s <= 0:
            return  # already expired: nothing to deny
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(_DENY, jti, float(ttl_s))
        except DB_FAILURES as exc:
            raise CacheUnavailable("deny-list add", _problem(exc)) from exc

    async def is_denied(self, jti: str) -> bool:
        return await self._denied.submit(jti)

    async def remember(self, key: str, ttl_s: float) -> None:
        await self.deny(REMEMBERED + key, ttl_s)

    async def remembers(self, key: str) -> bool:
        return await self.is_denied(REMEMBERED + key)

    async def prune(self, batch: int = 10_000) -> int:
        """Delete expired counters and deny-list entries; return how many rows went."""
        total = 0
        for statement in (_PRUNE_COUNTERS, _PRUNE_DENIED):
            while True:
                async with self._pool.acquire() as conn:
                    n = int((await conn.execute(statement, batch)).split()[-1])
                total += n
                if n < batch:
                    break
        if total:
            log.info("cache_pruned", rows=total)
        return total

    async def close(self) -> None:
        """Forget the local entries; the pool belongs to the caller."""
        await self._denied.drain()
        await self._local.close()

    async def _denied_many(self, keys: Sequence[str]) -> list[bool]:
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(_DENIED, list(set(keys)))
        except DB_FAILURES as exc:
            raise CacheUnavailable("deny-list check", _problem(exc)) from exc
        denied = {str(row["key"]) for row in rows}
        return [key in denied for key in keys]


def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
