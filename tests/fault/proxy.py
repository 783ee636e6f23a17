"""A TCP fault proxy on 127.0.0.1: pass, latency N ms, blackhole (hold) or reset, switched live."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass
class Injection:
    """One mode switch, for the scenario's report."""

    at_s: float
    mode: str
    latency_ms: int


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client side, the target side once open, its pump tasks."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    target_closed_at: float | None = None


def _rst(writer: asyncio.StreamWriter | None) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Forwards every connection to (host, port); `set_mode` changes what happens to the bytes.

    - pass: bytes flow as they come;
    - latency: each chunk is forwarded `latency_ms` after it arrived (order kept, both ways);
    - blackhole: connections are accepted and held, nothing is forwarded (bytes wait, as TCP
      retransmission would deliver them once the path is back); a new connection's target
      side is opened only when the hole ends;
    - reset: every open connection is closed with RST, and so is every new one.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.latency_ms = 0
        self.links: set[_Link] = set()
        self.injections: list[Injection] = []
        self.accepted = 0
        self.resets = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._started = time.monotonic()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self.links):
            self._drop(link)
        if self._server is not None:
            await self._server.wait_closed()

    def set_mode(self, mode: str, latency_ms: int = 0) -> None:
        if mode not in ("pass", "latency", "blackhole", "reset"):
            raise ValueError(f"unknown proxy mode {mode!r}")
        self.mode, self.latency_ms = mode, latency_ms if mode == "latency" else 0
        self.injections.append(Injection(round(time.monotonic() - self._started, 2), mode,
                                         self.latency_ms))
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode == "reset":
            for link in list(self.links):
                self.resets += 1
                self._drop(link)

    def report(self) -> dict[str, object]:
        return {"target": f"{self.target[0]}:{self.target[1]}", "accepted": self.accepted,
                "resets": self.resets, "injections": [vars(i) for i in self.injections]}

    def _drop(self, link: _Link) -> None:
        _rst(link.client)
        _rst(link.target)
        for task in link.tasks:
            task.cancel()
        self.links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        if self.mode == "reset":
            self.resets += 1
            _rst(writer)
            return
        self.links.add(link)
        try:
            await self._flowing.wait()
            target_reader, link.target = await asyncio.open_connection(*self.target)
        except OSError:
            self._drop(link)
            return
        if link not in self.links:  # reset while it waited
            _rst(link.target)
            return
        link.tasks = [asyncio.create_task(self._pump(reader, link.target, None)),
                      asyncio.create_task(self._pump(target_reader, writer, link))]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        self._drop(link)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    link: _Link | None) -> None:
        """Read chunks as they come; a writer task forwards each one when it is due."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        writer = asyncio.create_task(self._forward(queue, dst))
        try:
            while data := await src.read(CHUNK):
                queue.put_nowait((time.monotonic() + self.latency_ms / 1000, data))
        except OSError:
            pass
        finally:
            if link is not None:  # the target closed (or reset) its side
                link.target_closed_at = time.monotonic()
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer
            writer.cancel()

    async def _forward(self, queue: asyncio.Queue[tuple[float, bytes]],
                       dst: asyncio.StreamWriter) -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await self._flowing.wait()
            if not data:
                dst.close()
                return
            dst.write(data)
            await dst.drain()
