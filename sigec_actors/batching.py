"""Coalescing many callers' requests into few bulk calls (group commit, batched lookups)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Bulk = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]
"""One bulk call: a result (or the exception to raise) per item, in the items' order."""


class Batcher(Generic[T, R]):
    """Callers `await submit(item)`; one bulk call answers everything queued meanwhile.

    At most `max_inflight` bulk calls run at once (the bound toward a connection pool: callers
    wait their turn instead of timing out on the pool); while they run, new items queue and the
    next call takes up to `max_batch` of them. Under light load a caller waits one bulk call;
    under heavy load batches grow, so the cost per item falls as the load rises.

    `key`: items with the same key are never in one bulk call, nor in two concurrent ones, and
    keep their submission order (one station's writes commit in the order they were made).
    A caller that gives up (cancelled) before its item is taken is simply skipped; once taken,
    the item runs anyway. If `bulk` itself raises, every item of that call gets the exception.
    """

    __slots__ = ("_bulk", "_busy_keys", "_idle", "_inflight", "_key", "_max_batch",
                 "_max_inflight", "_queue", "_tasks")

    def __init__(self, bulk: Bulk[T, R], *, max_batch: int = 1000, max_inflight: int = 2,
                 key: Callable[[T], Hashable] | None = None) -> None:
        self._bulk = bulk
        self._max_batch = max_batch
        self._max_inflight = max_inflight
        self._key = key
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._busy_keys: set[Hashable] = set()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: asyncio.Event | None = None

    @property
    def pending(self) -> int:
        """Items queued and not taken yet."""
        return len(self._queue)

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue `item`; the future resolves with its result once its bulk call returned."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        self._kick()
        return fut

    async def drain(self) -> None:
        """Wait until nothing is queued or running (for shutdown and tests)."""
        while self._queue or self._tasks:
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            else:
                self._kick()
                await asyncio.sleep(0)

    def _kick(self) -> None:
        if self._inflight < self._max_inflight and self._queue:
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        try:
            while True:
                batch = self._take()
                if not batch:
                    return
                await self._run(batch)
        finally:
            self._inflight -= 1
            self._kick()

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        queue, key_of = self._queue, self._key
        if key_of is None:
            while queue and len(batch) < self._max_batch:
                entry = queue.popleft()
                if not entry[1].done():
                    batch.append(entry)
            return batch
        held: set[Hashable] = set()  # keys that must wait: in flight, taken, or held back
        rest: deque[tuple[T, asyncio.Future[R]]] = deque()
        while queue and len(batch) < self._max_batch:
            entry = queue.popleft()
            if entry[1].done():
                continue
            k = key_of(entry[0])
            if k in held or k in self._busy_keys:
                held.add(k)
                rest.append(entry)
            else:
                held.add(k)
                batch.append(entry)
        rest.extend(queue)
        self._queue = rest
        self._busy_keys.update(key_of(item) for item, _ in batch)
        return batch

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results: Sequence[R | BaseException] = await self._bulk(items)
        except Exception as exc:  # the bulk call failed as a whole: each caller decides
            results = [exc] * len(batch)
        except BaseException:  # cancelled (shutdown): no caller may wait forever
            for _, fut in batch:
                fut.cancel()
            raise
        finally:
            if self._key is not None:
                self._busy_keys.difference_update(self._key(item) for item in items)
        for (_, fut), result in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)
