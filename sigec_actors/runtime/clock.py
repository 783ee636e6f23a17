"""The injected clock: wall time, monotonic time and timers; the runtime never reads time itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled (asyncio.TimerHandle fits)."""

    def cancel(self) -> None:
        """Cancel the callback; harmless if it already ran."""


class Clock(Protocol):
    """Source of time and timers for actors, supervisors and asks."""

    def now(self) -> datetime:
        """Current wall time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; for durations and restart intensity."""
        ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once after `delay_s` seconds."""
        ...


class SystemClock:
    """The real clock: wall time from the OS, timers on the running asyncio loop."""

    __slots__ = ()

    def now(self) -> datetime:
        """Current wall time in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """The same monotonic clock asyncio's loop uses for its timers."""
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Schedule on the running loop."""
        return asyncio.get_running_loop().call_later(delay_s, callback)
