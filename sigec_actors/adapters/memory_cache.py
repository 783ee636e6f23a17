"""In-process Cache (one node, no Redis): TTL entries, fixed-window counters, deny-list."""

from __future__ import annotations

import time
from collections.abc import Callable

REMEMBERED = "remembered:"
"""Key prefix of `remember` in the deny-list store (token ids and deny keys never start so)."""


class MemoryCache:
    """The Cache port in process memory; `clock` (seconds, monotonic) is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000):
        self._clock = clock
        self._max = max_entries
        self._values: dict[str, tuple[bytes, float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._denied: dict[str, float] = {}

    async def get(self, key: str) -> bytes | None:
        item = self._values.get(key)
        if item is None or item[1] <= self._clock():
            self._values.pop(key, None)
            return None
        return item[0]

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if len(self._values) >= self._max:
            self._sweep()
        self._values[key] = (value, self._clock() + ttl_s)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def hit(self, key: str, window_s: int) -> int:
        now = self._clock()
        count, ends = self._counters.get(key, (0, 0.0))
        if ends <= now:
            if len(self._counters) >= self._max:
                self._sweep()
            count, ends = 0, now + window_s
        self._counters[key] = (count + 1, ends)
        return count + 1

    async def deny(self, jti: str, ttl_s: float) -> None:
        if len(self._denied) >= self._max:
            self._sweep()
        self._denied[jti] = max(self._denied.get(jti, 0.0), self._clock() + ttl_s)

    async def is_denied(self, jti: str) -> bool:
        until = self._denied.get(jti)
        return until is not None and until > self._clock()

    async def remember(self, key: str, ttl_s: float) -> None:
        await self.deny(REMEMBERED + key, ttl_s)

    async def remembers(self, key: str) -> bool:
        return await self.is_denied(REMEMBERED + key)

    async def close(self) -> None:
        self._values.clear()
        self._counters.clear()
        self._denied.clear()

    def _sweep(self) -> None:
        """Drop expired items so memory stays bounded by live entries."""
        now = self._clock()
        self._values = {k: v for k, v in self._values.items() if v[1] > now}
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._denied = {k: v for k, v in self._denied.items() if v > now}
