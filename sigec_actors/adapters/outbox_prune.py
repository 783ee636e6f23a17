"""Keeps event_outbox small: rows published to JetStream are deleted after a retention period.

JetStream holds the events; a sent row only helps someone debugging the relay, so it is kept
for `retention_s` (default one hour) and deleted in bounded batches (short statements, no long
lock); the node runs `prune_once` every `nats.outbox_prune_interval_s` (sigec_actors.jobs).
Every node may run it; they skip each other's rows.
"""

from __future__ import annotations

import structlog

from sigec_actors.adapters.outbox import PgOutbox

log = structlog.get_logger("outbox.prune")


class OutboxPruner:
    """Deletes sent outbox rows older than `retention_s`."""

    def __init__(self, outbox: PgOutbox, *, retention_s: float, batch: int = 10_000) -> None:
        self._outbox = outbox
        self._retention = retention_s
        self._batch = batch

    async def prune_once(self) -> int:
        """Delete every row due, batch by batch; return how many."""
        total = 0
        while True:
            n = await self._outbox.prune_sent(self._retention, self._batch)
            total += n
            if n < self._batch:
                break
        if total:
            log.info("outbox_pruned", rows=total, retention_s=self._retention)
        return total
