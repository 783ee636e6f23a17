"""Bridge between a thespian actor's thread and the asyncio loop thread of its node.

thespian -> asyncio: `loop.call_soon_threadsafe`. asyncio -> thespian: `post` appends to a
deque and writes one byte to a socketpair whose read end the actor returns in `ThespianWatch`;
thespian then wakes the actor with a `WatchMessage` and the actor `drain`s the deque and sends,
so every `self.send` runs on thespian's own thread.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from thespian.actors import ThespianWatch


class Bridge:
    """Outbox from the node's threads to the actor; safe to `post` from any thread."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._outbox: deque[tuple[Any, Any]] = deque()
        self.closed = False

    def watch(self) -> ThespianWatch:
        """What the actor's receiveMessage must return every time (thespian resets the watch)."""
        return ThespianWatch([] if self.closed else [self._reader.fileno()])

    def post(self, target: Any, message: Any) -> None:
        """Queue `message` for thespian to send to `target` (an ActorAddress)."""
        self._outbox.append((target, message))
        try:
            self._writer.send(b"\x00")
        except BlockingIOError:
            pass  # the socket buffer is full of wake-ups already: the actor will drain
        except OSError:
            if not self.closed:
                raise

    def drain(self) -> list[tuple[Any, Any]]:
        """On the actor's thread: consume the wake-ups, return the queued (target, message)."""
        while True:
            try:
                if not self._reader.recv(4096):
                    break
            except BlockingIOError:
                break
        items = []
        while self._outbox:
            items.append(self._outbox.popleft())
        return items

    def close(self) -> None:
        self.closed = True
        self._reader.close()
        self._writer.close()


def call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """thespian -> asyncio: run `fn(*args)` on the node's loop (returns immediately)."""
    loop.call_soon_threadsafe(fn, *args)


def run_in_loop(loop: asyncio.AbstractEventLoop, coro: Any, timeout_s: float) -> Any:
    """Block the calling (thespian) thread until `coro` finished on `loop`; for shutdown only."""
    future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, loop)
    return future.result(timeout_s)
