"""FakeClock and SystemClock behaviour."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.runtime import SystemClock
from sigec_actors.testing import FakeClock


def test_fake_clock_fires_in_time_order_and_skips_cancelled() -> None:
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(3, lambda: fired.append("c"))
    clock.call_later(1, lambda: fired.append("a"))
    cancelled = clock.call_later(2, lambda: fired.append("x"))
    clock.call_later(2, lambda: fired.append("b"))
    cancelled.cancel()
    assert clock.advance(2.5) == 2
    assert fired == ["a", "b"]
    assert clock.monotonic() == 2.5
    clock.advance(1)
    assert fired == ["a", "b", "c"]
    assert clock.pending == 0


def test_fake_clock_fires_callbacks_scheduled_inside_the_window() -> None:
    clock = FakeClock()
    seen: list[float] = []

    def tick() -> None:
        seen.append(clock.monotonic())
        if len(seen) < 5:
            clock.call_later(1, tick)

    clock.call_later(1, tick)
    clock.advance(3.5)
    assert seen == [1.0, 2.0, 3.0]
    clock.advance(10)
    assert seen == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_fake_clock_wall_time_is_settable_and_aware() -> None:
    start = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    clock = FakeClock(start=start)
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    later = datetime(2031, 1, 1, tzinfo=UTC)
    clock.set_time(later)
    assert clock.now() == later
    assert clock.monotonic() == 90
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(start=datetime(2030, 1, 1))  # naive on purpose


async def test_system_clock_uses_the_running_loop() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    done = asyncio.get_running_loop().create_future()
    clock.call_later(0.001, lambda: done.set_result(clock.monotonic()))
    before = clock.monotonic()
    assert await asyncio.wait_for(done, 1) >= before
    handle = clock.call_later(0.001, lambda: pytest.fail("cancelled timer ran"))
    handle.cancel()
    await asyncio.sleep(0.005)
