"""Which node runs a site: the one holding a PostgreSQL session advisory lock on it.

A node's locks live on one connection kept from the pool: when the node dies, PostgreSQL
drops the connection and with it the locks, and the next event for the site lets another
node claim it (its Site actor rebuilds the state from PostgreSQL). A lost connection is
noticed by a check every `check_s`: the node then gives up every site it ran.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.ports import DbPool

log = structlog.get_logger("sites")
LOCK_CLASS = 19_0001
"""The first key of every site lock (two-int advisory locks: this class, the site's hash)."""


def lock_key(location_id: UUID) -> int:
    """The site's 32-bit lock id (a collision only makes one node run both sites)."""
    return int.from_bytes(location_id.bytes[:4], "big", signed=True)


class SiteLocks:
    """Claims sites for this node; `on_lost` is called when every claim was lost."""

    def __init__(self, pool: DbPool, on_lost: Callable[[], None], check_s: float = 5.0) -> None:
        self._pool = pool
        self._on_lost = on_lost
        self._check_s = check_s
        self._held: set[UUID] = set()
        self._stack: AsyncExitStack | None = None
        self._conn: Any = None
        self._mutex = asyncio.Lock()
        self._checker: asyncio.Task[None] | None = None

    def held(self, location_id: UUID) -> bool:
        return location_id in self._held

    async def claim(self, location_id: UUID) -> bool:
        """True when this node runs the site (already, or from now on)."""
        if location_id in self._held:
            return True
        async with self._mutex:
            try:
                conn = await self._connection()
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS,
                                          lock_key(location_id))
            except DB_FAILURES:
                await self._lost()
                raise
        if got:
            self._held.add(location_id)
        return bool(got)

    async def _connection(self) -> Any:
        if self._conn is None:
            stack = AsyncExitStack()
            self._conn = await stack.enter_async_context(self._pool.acquire())
            self._stack = stack
            if self._checker is None:
                self._checker = asyncio.get_running_loop().create_task(self._check())
        return self._conn

    async def _check(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            if self._conn is None:
                continue
            async with self._mutex:
                try:
                    await self._conn.fetchval("SELECT 1")
                except DB_FAILURES as exc:
                    log.warning("sites.locks_lost", error=repr(exc))
                    await self._lost()

    async def _lost(self) -> None:
        held, self._held = self._held, set()
        stack, self._stack, self._conn = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(*DB_FAILURES):
                await stack.aclose()
        if held:
            self._on_lost()

    async def aclose(self) -> None:
        """Give every site up (the connection goes back to the pool, its locks released)."""
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
            self._checker = None
        async with self._mutex:
            if self._conn is not None:
                with contextlib.suppress(*DB_FAILURES):
                    await self._conn.execute("SELECT pg_advisory_unlock_all()")
            self._held.clear()
            stack, self._stack, self._conn = self._stack, None, None
            if stack is not None:
                with contextlib.suppress(*DB_FAILURES):
                    await stack.aclose()
