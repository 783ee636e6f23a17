"""A node's background jobs: owned tasks, periodic work that outlives a database outage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

from sigec_actors.adapters.pg import DB_FAILURES

log = structlog.get_logger("jobs")


async def every(interval_s: float, work: Callable[[], Awaitable[Any]], *, job: str,
                first_after_s: float | None = None) -> None:
    """Run `work` every `interval_s` seconds (the first time after `first_after_s`, default
    one interval) forever; a database outage is logged and tried again next round."""
    delay = interval_s if first_after_s is None else first_after_s
    while True:
        await asyncio.sleep(delay)
        delay = interval_s
        try:
            await work()
        except DB_FAILURES as exc:  # database away: try again next round
            log.warning("periodic_job_failed", job=job, error=f"{type(exc).__name__}: {exc}")


class Jobs:
    """Tasks a component starts and must end on its stop (`stop` cancels and awaits them)."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
