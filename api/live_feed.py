"""Domain events from NATS for live streams (GraphQL subscriptions, gRPC Watch* calls).

One core NATS subscription per subject per node, opened by the first listener and closed with
the last, fanned out to each listener's bounded queue. Events are the outbox's JSON payloads
(sigec_actors.domain.events); a listener that falls behind loses its oldest events, never
blocks the node, and is told how many it lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import nats.errors
import structlog

log = structlog.get_logger("api.live_feed")
Event = dict[str, Any]
Match = Callable[[Event], bool]


class Subscription(Protocol):
    async def unsubscribe(self, limit: int = 0) -> None: ...


class Bus(Protocol):
    """The part of nats.aio.client.Client the feed uses."""

    async def subscribe(self, subject: str, queue: str = "", cb: Any = None) -> Any: ...


@dataclass(eq=False)
class Listener:
    """One stream's view of a subject: events that `match`, in arrival order."""

    match: Match
    queue: asyncio.Queue[Event]
    dropped: int = 0

    def offer(self, event: Event) -> None:
        if not self.match(event):
            return
        if self.queue.full():  # a slow client loses its oldest events, not the node's time
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def next(self) -> Event:
        return await self.queue.get()


@dataclass
class _Topic:
    subscription: Subscription | None = None
    listeners: set[Listener] = field(default_factory=set)


class EventFeed:
    """Fan-out of NATS subjects to local listeners (see the module docstring)."""

    def __init__(self, bus: Bus, queue_size: int = 256) -> None:
        self._bus = bus
        self._queue_size = queue_size
        self._topics: dict[str, _Topic] = {}
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def listen(self, subjects: tuple[str, ...], match: Match) -> AsyncIterator[Listener]:
        """A listener for events on `subjects` that satisfy `match`, while the block runs."""
        listener = Listener(match, asyncio.Queue(self._queue_size))
        async with self._lock:
            for subject in subjects:
                topic = self._topics.setdefault(subject, _Topic())
                if topic.subscription is None:
                    topic.subscription = await self._bus.subscribe(
                        subject, cb=self._deliver_to(subject))
                topic.listeners.add(listener)
        try:
            yield listener
        finally:
            async with self._lock:
                for subject in subjects:
                    await self._leave(subject, listener)

    def listeners(self, subject: str) -> int:
        topic = self._topics.get(subject)
        return 0 if topic is None else len(topic.listeners)

    async def _leave(self, subject: str, listener: Listener) -> None:
        topic = self._topics.get(subject)
        if topic is None:
            return
        topic.listeners.discard(listener)
        if not topic.listeners:
            del self._topics[subject]
            if topic.subscription is not None:
                with contextlib.suppress(nats.errors.Error):  # closed: no interest left anyway
                    await topic.subscription.unsubscribe()

    def _deliver_to(self, subject: str) -> Callable[[Any], Any]:
        async def deliver(msg: Any) -> None:
            try:
                event = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                log.warning("live_feed_undecodable", subject=subject)
                return
            if not isinstance(event, dict):
                return
            topic = self._topics.get(subject)
            for listener in list(topic.listeners if topic else ()):
                listener.offer(event)
        return deliver
