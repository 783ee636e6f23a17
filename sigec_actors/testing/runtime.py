"""Test helpers for the actor runtime: a fake clock that drives timers, and quiescence helpers."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sigec_actors.runtime.recent import DEFAULT_RECENT_MESSAGES
from sigec_actors.runtime.ref import ActorRef
from sigec_actors.runtime.spec import ChildSpec
from sigec_actors.runtime.system import ActorSystem

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)


class FakeTimer:
    """A callback scheduled on a FakeClock."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback."""
        self.cancelled = True


class FakeClock:
    """A Clock whose time moves only through `advance`; timers fire in time order."""

    def __init__(self, start: datetime = DEFAULT_START, monotonic_start: float = 0.0) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._start = start
        self._mono0 = monotonic_start
        self._mono = monotonic_start
        self._heap: list[tuple[float, int, FakeTimer]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        """Start time plus the time advanced so far."""
        return self._start + timedelta(seconds=self._mono - self._mono0)

    def monotonic(self) -> float:
        """Fake monotonic seconds."""
        return self._mono

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> FakeTimer:
        """Schedule `callback` at now + delay_s (fired by a later `advance`)."""
        timer = FakeTimer(self._mono + max(delay_s, 0.0), callback)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        return timer

    def set_time(self, start: datetime) -> None:
        """Move the wall clock without firing timers (monotonic time is unchanged)."""
        self._start = start - timedelta(seconds=self._mono - self._mono0)

    def advance(self, seconds: float) -> int:
        """Move time forward, firing due callbacks in time order; returns how many fired.

        Callbacks scheduled while advancing fire too if they fall due within the window.
        """
        target = self._mono + seconds
        fired = 0
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._mono = max(self._mono, when)
            timer.callback()
            fired += 1
        self._mono = target
        return fired

    @property
    def pending(self) -> int:
        """Timers scheduled and not cancelled."""
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)


def quiescent(system: ActorSystem) -> bool:
    """True when every running actor is parked on an empty mailbox."""
    return all(ctx.idle for ctx in system.registry.values())


async def settle(system: ActorSystem, *, max_rounds: int = 10_000) -> None:
    """Run the loop until every actor is idle for a few consecutive rounds.

    Raises RuntimeError if the system does not settle (e.g. an actor awaits real time or a
    shutdown waits for a fake-clock timeout that nobody advances).
    """
    stable = 0
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        stable = stable + 1 if quiescent(system) else 0
        if stable >= 3:
            return
    busy = [ctx.path for ctx in system.registry.values() if not ctx.idle]
    raise RuntimeError(f"actor system did not settle; busy: {busy[:10]}")


async def advance(clock: FakeClock, system: ActorSystem, seconds: float) -> int:
    """Advance the fake clock, then settle; returns how many timers fired."""
    await settle(system)
    fired = clock.advance(seconds)
    await settle(system)
    return fired


@asynccontextmanager
async def running_system(
    root: ChildSpec, *, clock: FakeClock | None = None, name: str = "test",
    recent_messages: int = DEFAULT_RECENT_MESSAGES,
) -> AsyncIterator[tuple[ActorSystem, ActorRef[Any]]]:
    """Start a system on a FakeClock, settle, yield (system, root ref), then shut it down.

    Shutdown advances the fake clock if actors hang, so shutdown timeouts fire and a failing
    test never hangs in teardown.
    """
    fake = clock if clock is not None else FakeClock()
    system = ActorSystem(clock=fake, name=name, recent_messages=recent_messages)
    root_ref = await system.start(root)
    await settle(system)
    try:
        yield system, root_ref
    finally:
        await shutdown(system, fake)


async def shutdown(system: ActorSystem, clock: FakeClock, *, max_fake_s: float = 3600) -> None:
    """Shut the system down, advancing fake time one second at a time while it hangs."""
    task = asyncio.ensure_future(system.shutdown())
    waited = 0.0
    while True:
        for _ in range(50):
            if task.done():
                return task.result()
            await asyncio.sleep(0)
        if waited >= max_fake_s:
            task.cancel()
            raise RuntimeError(f"shutdown still hangs after {max_fake_s} fake seconds")
        clock.advance(1.0)
        waited += 1.0
