"""One simulated charging station: connect, boot, run the scenario, answer CSMS CALLs, reconnect."""

from __future__ import annotations

import array
import asyncio
import base64
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bench.load import stats
from bench.load.config import MEASURING, STOP, LoadConfig
from bench.load.frames import (
    CALL,
    CALLERROR,
    CALLRESULT,
    Frames,
    answer_csms_call,
    answers,
    decode,
    kind_of,
)
from bench.load.wsclient import Closed, HandshakeError, WsClient, open_ws

SUBPROTOCOL = "ocpp2.0.1"
ALWAYS_RECORDED = ("connect", "BootNotification")


class WorkerCtx:
    """State shared by all stations of one worker process."""

    def __init__(self, cfg: LoadConfig, counters: Any, flags: Any) -> None:
        self.cfg = cfg
        self.counters = counters
        self.flags = flags
        self.frames = Frames()
        self.stats = stats.WorkerStats()
        self.sockets: set[WsClient] = set()
        self.stations: set[Station] = set()
        # The flags as of the worker's last tick (every 50 ms): hot paths read these, not the
        # shared array. `samples` holds round trips in ns per action until `fold_samples`.
        self.measuring = False
        self.stop_now = False
        self.samples: dict[str, array.array[int]] = {}
        url = urlsplit(cfg.url)
        if url.scheme != "ws" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load goes to ws:// on loopback only, not {cfg.url!r}")
        self.host, self.port, self.path = url.hostname, url.port or 80, url.path.rstrip("/")

    @property
    def stopping(self) -> bool:
        return bool(self.flags[STOP])

    def refresh(self) -> None:
        """Copy the shared flags into plain attributes (the worker's tick calls this)."""
        self.measuring = bool(self.flags[MEASURING])
        self.stop_now = bool(self.flags[STOP])

    def sample_array(self, action: str) -> array.array[int]:
        found = self.samples.get(action)
        if found is None:
            found = self.samples[action] = array.array("q")
        return found

    def fold_samples(self) -> None:
        """Move the ns samples into the latency histograms (once, after the run)."""
        for action, samples in self.samples.items():
            hist = self.stats.hist(action)
            for ns in samples:
                hist.record(ns * 1e-9)
        self.samples.clear()

    def error(self, kind: str) -> None:
        self.stats.errors[kind] += 1
        self.counters[stats.ERRORS] += 1

    def record(self, action: str, seconds: float) -> None:
        if self.flags[MEASURING] or action in ALWAYS_RECORDED:
            self.stats.hist(action).record(seconds)


class Station:
    """A station's connection and message counter; `call` keeps one CALL in flight (OCPP rule)."""

    __slots__ = ("ctx", "pending_ns", "sid", "timed_out", "uid", "ws")

    def __init__(self, ctx: WorkerCtx, sid: str) -> None:
        self.ctx = ctx
        self.sid = sid
        self.uid = 0
        self.ws: WsClient | None = None
        self.pending_ns = 0  # perf_counter_ns() of the CALL in flight, 0 when none
        self.timed_out = False

    def next_uid(self) -> bytes:
        self.uid += 1
        return str(self.uid).encode()

    async def call(self, action: str, uid: bytes, frame: bytes) -> bytes:
        """Send the CALL `uid` and wait for its answer, answering CSMS CALLs meanwhile."""
        ws, ctx = self.ws, self.ctx
        assert ws is not None
        started = self.pending_ns = time.perf_counter_ns()
        ws.send_text(frame)
        reply = await self._await_answer(ws, uid)  # the worker's watchdog aborts it on timeout
        self.pending_ns = 0
        ctx.record(action, (time.perf_counter_ns() - started) * 1e-9)
        ctx.counters[stats.MESSAGES] += 1
        if kind_of(reply) == CALLERROR:
            msg = decode(reply)
            ctx.error(f"callerror:{action}:{msg[2] if len(msg) > 2 else '?'}")
        return reply

    async def _await_answer(self, ws: WsClient, uid: bytes) -> bytes:
        while True:
            reply = await ws.recv()
            kind = kind_of(reply)
            if kind in (CALLRESULT, CALLERROR) and answers(reply, uid):
                return reply
            self.unsolicited(ws, reply, kind)

    def unsolicited(self, ws: WsClient, frame: bytes, kind: int) -> None:
        """A frame that is not the answer awaited: answer a CSMS CALL, count anything else."""
        if kind in (CALLRESULT, CALLERROR):
            self.ctx.error("unmatched-id")
            return
        if kind != CALL:
            self.ctx.error("unexpected-frame")
            return
        _action, answer = answer_csms_call(frame)
        ws.send_text(answer)
        self.ctx.counters[stats.CSMS_CALLS] += 1

    async def idle_until(self, deadline: float) -> None:
        """Wait until `deadline` (monotonic), answering any CALL the CSMS sends."""
        ws = self.ws
        assert ws is not None
        if deadline <= time.monotonic():
            return
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    frame = await ws.recv()
                    self.unsolicited(ws, frame, kind_of(frame))
        except TimeoutError:
            return

    async def connect(self) -> None:
        """Open the WebSocket (one attempt); errors are classified by the caller."""
        ctx, cfg = self.ctx, self.ctx.cfg
        headers = {}
        if cfg.password:
            token = base64.b64encode(f"{self.sid}:{cfg.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        started = time.perf_counter()
        async with asyncio.timeout(cfg.open_timeout_s):
            self.ws = await open_ws(ctx.host, ctx.port, f"{ctx.path}/{self.sid}", SUBPROTOCOL,
                                    headers)
        ctx.record("connect", time.perf_counter() - started)

    async def boot(self) -> str:
        """BootNotification; returns the registration status the CSMS gave."""
        uid = self.next_uid()
        reply = await self.call("BootNotification", uid,
                                self.ctx.frames.call(uid, "BootNotification"))
        if kind_of(reply) != CALLRESULT:
            return "CALLERROR"
        payload = decode(reply)[2]
        return str(payload.get("status", "?")) if isinstance(payload, dict) else "?"


def classify(exc: BaseException) -> str:
    """A short error kind for the report."""
    if isinstance(exc, HandshakeError):
        return f"http-{exc.status}" if exc.status != 101 else "no-subprotocol"
    if isinstance(exc, Closed):
        return "closed"
    if isinstance(exc, ConnectionRefusedError):
        return "connect-refused"
    if isinstance(exc, TimeoutError):
        return "connect-timeout"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"oserror-{exc.errno}"
    return f"other:{type(exc).__name__}"


Behaviour = Callable[[Station], Awaitable[None]]


async def run_station(ctx: WorkerCtx, sid: str, start_at: float, behaviour: Behaviour) -> None:
    """Connect at `start_at`, boot, run `behaviour`; on loss reconnect after a random delay."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    station = Station(ctx, sid)
    ctx.stations.add(station)
    while not ctx.stopping:
        if await _session(ctx, station, behaviour):
            break
        await asyncio.sleep(random.uniform(0.05, max(0.05, ctx.cfg.reconnect_max_s)))  # noqa: S311
    ctx.stations.discard(station)


def expire_calls(ctx: WorkerCtx) -> None:
    """Watchdog tick: abort connections whose CALL has waited longer than call_timeout_s."""
    limit = time.perf_counter_ns() - int(ctx.cfg.call_timeout_s * 1e9)
    for station in ctx.stations:
        if station.pending_ns and station.pending_ns < limit and station.ws is not None:
            station.timed_out = True
            ctx.error("timeout")
            station.ws.abort()


async def _session(ctx: WorkerCtx, station: Station, behaviour: Behaviour) -> bool:
    """One connection's life; True when the behaviour ended normally (no reconnect)."""
    try:
        await station.connect()
    except Exception as exc:
        ctx.error(classify(exc))
        return False
    ws = station.ws
    assert ws is not None
    ctx.sockets.add(ws)
    ctx.counters[stats.CONNECTED] += 1
    ctx.counters[stats.CONNECTS] += 1
    ctx.stats.first_connect_at = min(ctx.stats.first_connect_at, time.monotonic())
    try:
        await _boot_and_run(ctx, station, behaviour)
        return True
    except Closed:
        if not ctx.stopping and not station.timed_out:
            ctx.error("closed")
        return False
    finally:
        station.pending_ns, station.timed_out = 0, False
        ctx.counters[stats.CONNECTED] -= 1
        ctx.sockets.discard(ws)
        ws.abort()


async def _boot_and_run(ctx: WorkerCtx, station: Station, behaviour: Behaviour) -> None:
    status = await station.boot()
    ctx.stats.boot_status[status] += 1
    if status == "Accepted":
        ctx.counters[stats.BOOTED] += 1
        ctx.stats.last_boot_at = max(ctx.stats.last_boot_at, time.monotonic())
    else:
        ctx.counters[stats.BOOT_NOT_ACCEPTED] += 1
    await behaviour(station)
