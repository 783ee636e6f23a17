"""A timeout on the injected clock (fake time drives it), for storage calls inside an actor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sigec_actors.charge_point.errors import PersistTimeout
from sigec_actors.runtime.clock import Clock


@asynccontextmanager
async def deadline(clock: Clock, timeout_s: float) -> AsyncIterator[None]:
    """Cancel the block after `timeout_s` on `clock` and raise PersistTimeout instead.

    Same technique as asyncio.timeout (cancel the current task, then uncancel), but on the
    actor system's clock, so tests with a FakeClock stay deterministic. No extra task.
    """
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    handle = clock.call_later(timeout_s, expire)
    try:
        yield
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:
            raise PersistTimeout(timeout_s) from None
        raise
    finally:
        handle.cancel()
