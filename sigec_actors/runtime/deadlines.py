"""Ask timeouts without a timer per ask: one FIFO of deadlines and one clock timer per timeout."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from sigec_actors.runtime.errors import AskTimeout

if TYPE_CHECKING:
    from sigec_actors.runtime.clock import Clock, TimerHandle

_COMPACT_MIN = 4096


class AskDeadlines:
    """Pending asks that share one timeout value, in deadline order.

    Asks with the same timeout expire in the order they were made, so a FIFO replaces the
    per-ask timer (a timer per ask cost ~6 us of a ~20 us round trip). Answered asks are
    dropped lazily: from the head on every add, and by compaction when the queue doubles.
    """

    __slots__ = ("_clock", "_compact_at", "_queue", "_timeout_s", "_timer")

    def __init__(self, clock: Clock, timeout_s: float) -> None:
        self._clock = clock
        self._timeout_s = timeout_s
        self._queue: deque[tuple[float, asyncio.Future[Any], str]] = deque()
        self._timer: TimerHandle | None = None
        self._compact_at = _COMPACT_MIN

    def add(self, fut: asyncio.Future[Any], path: str) -> None:
        """Fail `fut` with AskTimeout unless it is done within the timeout."""
        queue = self._queue
        while queue and queue[0][1].done():
            queue.popleft()
        if len(queue) >= self._compact_at:
            self._queue = queue = deque(entry for entry in queue if not entry[1].done())
            self._compact_at = max(_COMPACT_MIN, 2 * len(queue))
        queue.append((self._clock.monotonic() + self._timeout_s, fut, path))
        if self._timer is None:
            self._timer = self._clock.call_later(self._timeout_s, self._expire)

    def __len__(self) -> int:
        return len(self._queue)

    def _expire(self) -> None:
        self._timer = None
        now = self._clock.monotonic()
        queue = self._queue
        while queue:
            deadline, fut, path = queue[0]
            if not fut.done():
                if deadline > now:
                    self._timer = self._clock.call_later(deadline - now, self._expire)
                    return
                fut.set_exception(AskTimeout(path, self._timeout_s))
            queue.popleft()
