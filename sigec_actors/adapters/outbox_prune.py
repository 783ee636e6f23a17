"""Keeps event_outbox small: rows published to JetStream are deleted after a retention period.

JetStream holds the events; a sent row only helps someone debugging the relay, so it is kept
for `retention_s` (default one hour) and deleted in bounded batches (short statements, no long
lock) every `interval_s`. Every node may run one; they skip each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from sigec_actors.adapters.outbox import PgOutbox
from sigec_actors.adapters.pg import DB_FAILURES

log = structlog.get_logger("outbox.prune")


class OutboxPruner:
    """Deletes sent outbox rows older than `retention_s`, every `interval_s`."""

    def __init__(self, outbox: PgOutbox, *, retention_s: float, interval_s: float,
                 batch: int = 10_000) -> None:
        self._outbox = outbox
        self._retention = retention_s
        self._interval = interval_s
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self) -> int:
        """Delete every row due, batch by batch; return how many."""
        total = 0
        while True:
            n = await self._outbox.prune_sent(self._retention, self._batch)
            total += n
            if n < self._batch:
                return total

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-prune")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.prune_once()
            except DB_FAILURES as exc:  # the database is down: try again next time
                log.warning("outbox_prune_failed", error=f"{type(exc).__name__}: {exc}")
            else:
                if deleted:
                    log.info("outbox_pruned", rows=deleted, retention_s=self._retention)
            await asyncio.sleep(self._interval)
