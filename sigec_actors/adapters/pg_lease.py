"""A share of a pool's connections, kept between calls: a release costs a reset round trip."""

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
    """Lends at most `size` of a pool's connections at once and keeps them between calls.

    asyncpg resets a connection on every release (one more round trip, on top of the query,
    for a single-statement write). Here a connection that served a call without error and
    outside a transaction is kept for the next caller instead; callers beyond `size` wait
    their turn here (first come, first served), so the rest of the pool stays free for
    others; while one of them waits for the pool itself (a pool smaller than `size`), a
    finished connection goes back to the pool at once. Kept connections unused for `idle_s`
    return to the pool: a quiet node holds none and `pool.close()` waits at most about
    `idle_s`. A failure or a cancellation hands the connection to the pool, which resets or
    discards it.
    """

    def __init__(self, pool: DbPool, *, size: int = 4, idle_s: float = 0.2) -> None:
        self._pool = pool
        self._idle_s = idle_s
        self._slots = asyncio.Semaphore(size)
        self._free: list[tuple[_Held, float]] = []
        self._opening = 0  # callers waiting for the pool to lend a connection
        self._sweeper: asyncio.TimerHandle | None = None
        self._releases: set[asyncio.Task[None]] = set()

    @property
    def held(self) -> int:
        """Connections kept and not lent right now."""
        return len(self._free)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[DbConn]:
        async with self._slots:
            held = self._free.pop()[0] if self._free else await self._open()
            clean = False
            try:
                yield held[1]
                clean = not held[1].is_closed() and not held[1].is_in_transaction()
            finally:
                # Keep it, unless someone waits for the pool (a smaller pool than `size`):
                # then the pool must get it back now.
                if clean and not self._opening:
                    self._free.append((held, time.monotonic()))
                    self._arm()
                else:
                    await held[0].__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Give every kept connection back to the pool."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        free, self._free = self._free, []
        for (lent, _), _ in free:
            await lent.__aexit__(None, None, None)
        if self._releases:
            await asyncio.gather(*self._releases, return_exceptions=True)

    async def _open(self) -> _Held:
        self._opening += 1
        try:
            lent = self._pool.acquire()
            return lent, cast(_Conn, await lent.__aenter__())
        finally:
            self._opening -= 1

    def _arm(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._idle_s, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = time.monotonic() - self._idle_s
        stale = [held for held, since in self._free if since <= cutoff]
        self._free = [(held, since) for held, since in self._free if since > cutoff]
        for lent, _ in stale:
            task = asyncio.get_running_loop().create_task(_close(lent))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)
        if self._free:
            self._arm()


async def _close(lent: AbstractAsyncContextManager[Any]) -> None:
    await lent.__aexit__(None, None, None)


class LeasedPool:
    """A DbPool whose connections come from a ConnectionLease: for repositories that leave no
    session state behind (no SET, LISTEN or session locks), so skipping the reset is safe."""

    def __init__(self, lease: ConnectionLease) -> None:
        self.lease = lease

    def acquire(self) -> AbstractAsyncContextManager[DbConn]:
        return self.lease.acquire()

    async def close(self) -> None:
        """Give the kept connections back (the pool itself stays open: it is not ours)."""
        await self.lease.aclose()
