"""Fire-and-forget work after a commit: owned tasks, expected failures logged, cancelled on stop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

from sigec_actors.charge_point.errors import CommandError
from sigec_actors.runtime import ActorDead, MailboxFull

log = structlog.get_logger("transactions")

COMMAND_FAILURES: tuple[type[BaseException], ...] = (CommandError, ActorDead, MailboxFull)
"""How a CSMS -> station command fails without a bug: offline, timeout, busy, CALLERROR."""


class Background:
    """Tasks nobody awaits (CostUpdated, GetTransactionStatus after a TransactionEvent).

    The ChargePoint actor must never wait on a command to its own station while it handles
    that station's CALL (the command goes through the same mailbox), so these run as tasks.
    A strong reference is kept until each ends; `aclose` cancels what is left.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("background_task_failed", task=task.get_name(),
                      error=f"{type(exc).__name__}: {exc}", exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the tasks running now (tests; a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tasks.clear()
