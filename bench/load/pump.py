"""A closed-loop station driven from the protocol callback: no task wake-up per message.

Each answer is matched to the CALL in flight by its message id (a byte-prefix test), its round
trip is appended in ns to an array, and the next CALL goes out as one pre-encoded masked frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from bench.load import stats
from bench.load.frames import CALLERROR, CALLRESULT, answers, kind_of
from bench.load.station import Station
from bench.load.wsclient import Closed, WsClient, frame_header

_OP_TEXT = 1
ID_WIDTH = 8  # hex digits: every CALL of an action has the same length, so one header each
_ID_MOD = 16**ID_WIDTH
_NOTHING = b"\xff"  # the expected prefix while no CALL is in flight: no JSON text starts so


def _not_connected(frame: bytes) -> None:
    raise Closed("not connected")


class Template:
    """A constant-payload CALL as bytes around its id: WebSocket header + `[2,"` | id | tail."""

    __slots__ = ("action", "head", "tail")

    def __init__(self, action: str, tail: bytes) -> None:
        self.action = action
        self.head = frame_header(_OP_TEXT, 4 + ID_WIDTH + len(tail)) + b'[2,"'
        self.tail = tail

    def frame(self, uid: bytes) -> bytes:
        return self.head + uid + self.tail


def hex_id(number: int) -> bytes:
    """The fixed-width message id of a station's `number`-th CALL."""
    return b"%08x" % (number % _ID_MOD)


class ClosedLoop:
    """Sends `actions` in turn, each as soon as the previous one is answered (one in flight)."""

    __slots__ = ("_done", "_expect", "_index", "_sent_ns", "_templates", "_uid", "_write",
                 "counters", "ctx", "samples", "station", "ws")

    def __init__(self, station: Station, actions: Sequence[str]) -> None:
        ctx = station.ctx
        self.station, self.ctx, self.counters = station, ctx, ctx.counters
        self._templates = [Template(a, ctx.frames.tail(a)) for a in actions]
        self.samples = [ctx.sample_array(a) for a in actions]
        self._index = len(actions) - 1  # the first send moves to action 0
        self._uid = b""
        self._expect = _NOTHING
        self._sent_ns = 0
        self._done: asyncio.Future[None] | None = None
        self.ws: WsClient | None = None
        self._write: Callable[[bytes], object] = _not_connected

    async def run(self) -> None:
        """Until the worker stops (returns) or the connection is lost (raises Closed)."""
        ws = self.ws = self.station.ws
        assert ws is not None
        assert ws.transport is not None
        self._write = ws.transport.write
        self._done = asyncio.get_running_loop().create_future()
        ws.listen(self)
        try:
            if not self._done.done():
                self._send_next()
            await self._done
        finally:
            ws.listen(None)
            self.station.pending_ns = 0

    def _send_next(self) -> None:
        ws = self.ws
        assert ws is not None
        if self.ctx.stop_now or ws.closed:
            self._uid, self._expect = b"", _NOTHING
            self.station.pending_ns = 0
            self._finish(None if self.ctx.stop_now else Closed("connection closed"))
            return
        station = self.station
        station.uid += 1
        self._index = index = (self._index + 1) % len(self._templates)
        self._uid = uid = hex_id(station.uid)
        self._expect = b'[3,"' + uid + b'"'
        frame = self._templates[index].frame(uid)
        self._sent_ns = station.pending_ns = time.perf_counter_ns()
        self._write(frame)

    def on_message(self, message: bytes) -> None:
        """An answer to the CALL in flight sends the next CALL; anything else is handled aside."""
        if message.startswith(self._expect):  # CALLRESULT of the CALL in flight
            now = time.perf_counter_ns()
            if self.ctx.measuring:
                self.samples[self._index].append(now - self._sent_ns)
            self.counters[stats.MESSAGES] += 1
            self._send_next()
            return
        kind = kind_of(message)
        if self._uid and kind in (CALLRESULT, CALLERROR) and answers(message, self._uid):
            now = time.perf_counter_ns()
            if kind == CALLERROR:
                self.ctx.error(f"callerror:{self._templates[self._index].action}")
            self._answered(now)
            return
        assert self.ws is not None
        self.station.unsolicited(self.ws, message, kind)

    def _answered(self, now_ns: int) -> None:
        if self.ctx.measuring:
            self.samples[self._index].append(now_ns - self._sent_ns)
        self.counters[stats.MESSAGES] += 1
        self._send_next()

    def on_close(self) -> None:
        self._finish(Closed("connection closed"))

    def _finish(self, exc: Exception | None) -> None:
        done = self._done
        if done is None or done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)
