"""In-process EventBus with NATS subject wildcards and queue groups (tests, single node)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping

from sigec_actors.domain.errors import BusTimeout, NoResponders
from sigec_actors.ports import BusHandler, BusMessage, Subscription


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS matching: `*` is one token, a trailing `>` is one or more tokens."""
    p, s = pattern.split("."), subject.split(".")
    for i, part in enumerate(p):
        if part == ">":
            return len(s) > i
        if i >= len(s) or (part not in ("*", s[i])):
            return False
    return len(p) == len(s)


async def _deliver(handler: BusHandler, msg: BusMessage) -> bytes | None:
    return await handler(msg)


class _Sub:
    def __init__(self, bus: MemoryEventBus, pattern: str, handler: BusHandler,
                 queue: str | None) -> None:
        self.bus, self.pattern, self.handler, self.queue = bus, pattern, handler, queue

    async def unsubscribe(self) -> None:
        if self in self.bus._subs:
            self.bus._subs.remove(self)


class MemoryEventBus:
    """The EventBus port in memory; deliveries run as tasks, like NATS callbacks."""

    def __init__(self) -> None:
        self._subs: list[_Sub] = []
        self._tasks: set[asyncio.Task[bytes | None]] = set()
        self._rr = itertools.count()
        self.published: list[BusMessage] = []

    async def publish(self, subject: str, data: bytes,
                      headers: Mapping[str, str] | None = None) -> None:
        msg = BusMessage(subject, data, None, dict(headers) if headers else None)
        self.published.append(msg)
        for sub in self._targets(subject):
            task = asyncio.create_task(_deliver(sub.handler, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def subscribe(self, subject: str, handler: BusHandler,
                        queue: str | None = None) -> Subscription:
        sub = _Sub(self, subject, handler, queue)
        self._subs.append(sub)
        return sub

    async def request(self, subject: str, data: bytes, timeout_s: float) -> bytes:
        targets = self._targets(subject)
        if not targets:
            raise NoResponders(subject)
        msg = BusMessage(subject, data, f"_INBOX.{next(self._rr)}")
        try:
            async with asyncio.timeout(timeout_s):
                replies = await asyncio.gather(*(t.handler(msg) for t in targets))
        except TimeoutError as exc:
            raise BusTimeout(subject, timeout_s) from exc
        for reply in replies:
            if reply is not None:
                return reply
        raise BusTimeout(subject, timeout_s)

    def _targets(self, subject: str) -> list[_Sub]:
        """Every plain subscriber, plus one member per queue group (round robin)."""
        matching = [s for s in self._subs if subject_matches(s.pattern, subject)]
        plain = [s for s in matching if s.queue is None]
        groups: dict[str, list[_Sub]] = {}
        for s in matching:
            if s.queue is not None:
                groups.setdefault(s.queue, []).append(s)
        picked = [members[next(self._rr) % len(members)] for members in groups.values()]
        return plain + picked
