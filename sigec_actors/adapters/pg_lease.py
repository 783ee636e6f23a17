"""Pool connections kept between bulk calls: a release costs a reset round trip each time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, cast

from sigec_actors.ports import DbConn, DbPool


class _Conn(DbConn, Protocol):
    def is_closed(self) -> bool: ...
    def is_in_transaction(self) -> bool: ...


_Held = tuple[AbstractAsyncContextManager[Any], _Conn]


class ConnectionLease:
    """Lends pool connections, keeping up to `keep` of them for the next call.

    asyncpg resets a connection on every release (one more round trip, on top of the query,
    for a single-statement write). A connection that served a call without error and outside a
    transaction goes back here instead; those unused for `idle_s` return to the pool, so a quiet
    node holds none and `pool.close()` waits at most about `idle_s`. Any failure, or a
    cancellation, hands the connection to the pool, which resets or discards it.
    """

    def __init__(self, pool: DbPool, *, keep: int = 4, idle_s: float = 0.2) -> None:
        self._pool = pool
        self._keep = keep
        self._idle_s = idle_s
        self._idle: list[tuple[_Held, float]] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self._releases: set[asyncio.Task[None]] = set()

    @property
    def held(self) -> int:
        """Idle connections kept right now."""
        return len(self._idle)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[DbConn]:
        if self._idle:
            held = self._idle.pop()[0]
        else:
            lent = self._pool.acquire()
            held = (lent, cast(_Conn, await lent.__aenter__()))
        clean = False
        try:
            yield held[1]
            clean = not held[1].is_closed() and not held[1].is_in_transaction()
        finally:
            if clean and len(self._idle) < self._keep:
                self._idle.append((held, time.monotonic()))
                self._arm()
            else:
                await held[0].__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Give every kept connection back to the pool."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        idle, self._idle = self._idle, []
        for (lent, _), _ in idle:
            await lent.__aexit__(None, None, None)
        if self._releases:
            await asyncio.gather(*self._releases, return_exceptions=True)

    def _arm(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._idle_s, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = time.monotonic() - self._idle_s
        stale = [held for held, since in self._idle if since <= cutoff]
        self._idle = [(held, since) for held, since in self._idle if since > cutoff]
        for lent, _ in stale:
            task = asyncio.get_running_loop().create_task(_give_back(lent))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)
        if self._idle:
            self._arm()


async def _give_back(lent: AbstractAsyncContextManager[Any]) -> None:
    await lent.__aexit__(None, None, None)
