"""Node-level helpers off the hot path: best-effort bus events and batched last-seen writes."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime
from typing import Any

import msgspec
import structlog

from sigec_actors.ports import EventBus, StationRepository
from sigec_actors.runtime.clock import Clock, TimerHandle

_ENCODER = msgspec.json.Encoder()
_log = structlog.get_logger("sigec.charge_point")


class EventPublisher:
    """Publishes events that accompany no DB change (`ocpp.command.*`, boot of an unknown id).

    `emit` never blocks the caller: events wait in a bounded queue drained by one task per
    node. If NATS is down or the queue is full they are dropped and counted: losing a command
    audit event is acceptable, losing a DB-backed event is not (those go through the outbox).
    """

    def __init__(self, bus: EventBus, *, capacity: int = 10_000) -> None:
        self._bus = bus
        self._capacity = capacity
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.dropped = 0

    def emit(self, subject: str, payload: dict[str, Any]) -> None:
        """Queue one event for publishing; drops it (counted) when the queue is full."""
        if len(self._queue) >= self._capacity:
            self.dropped += 1
            return
        self._queue.append((subject, payload))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            subject, payload = self._queue.popleft()
            try:
                await self._bus.publish(subject, _ENCODER.encode(payload))
            except Exception as exc:  # any bus failure: this event is lost (documented)
                self.dropped += 1
                _log.warning("events.publish_failed", subject=subject, error=repr(exc))
            else:
                self.published += 1

    async def flush(self) -> None:
        """Wait until every queued event was published or dropped."""
        while self._task is not None and not self._task.done():
            await asyncio.wait((self._task,))


class LastSeenBatcher:
    """Keeps last-seen in memory and writes it every `interval_s`, not per heartbeat.

    Heartbeats of 10,000 stations would otherwise be 10,000 UPDATEs per interval; here a
    station is written at most once per flush, by one task per node. Live last-seen comes
    from the actor's state; the DB value only matters after a node dies (disconnects write it).
    """

    def __init__(self, stations: StationRepository, clock: Clock,
                 interval_s: float = 60.0) -> None:
        self._stations = stations
        self._clock = clock
        self._interval_s = interval_s
        self._pending: dict[str, datetime] = {}
        self._timer: TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.written = 0

    def mark(self, station_id: str, at: datetime) -> None:
        """Remember that the station was seen at `at` (O(1), no I/O)."""
        self._pending[station_id] = at
        if self._timer is None:
            self._timer = self._clock.call_later(self._interval_s, self._due)

    def _due(self) -> None:
        self._timer = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Write every pending last-seen now (failures are logged; the next mark retries)."""
        batch, self._pending = self._pending, {}
        if not batch:
            return
        touch_many = getattr(self._stations, "touch_many", None)
        if touch_many is not None:  # one statement for the whole node
            try:
                await touch_many(list(batch.items()))
            except Exception as exc:  # storage down: best effort, the next mark retries
                _log.warning("last_seen.write_failed", stations=len(batch), error=repr(exc))
            else:
                self.written += len(batch)
            return
        for station_id, at in batch.items():
            try:
                await self._stations.touch(station_id, at)
            except Exception as exc:  # storage down or station deleted: best effort
                _log.warning("last_seen.write_failed", station_id=station_id, error=repr(exc))
            else:
                self.written += 1

    async def aclose(self) -> None:
        """Cancel the timer and write what is pending (call at node shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None:
            await asyncio.wait((self._flushing,))
        await self.flush()
