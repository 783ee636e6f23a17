"""One simulated charging station: connect, boot, run the scenario, answer CSMS CALLs, reconnect."""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bench.load import stats
from bench.load.config import MEASURING, STOP, LoadConfig
from bench.load.frames import CALL, CALLERROR, CALLRESULT, Frames, answer_csms_call, decode, kind_of
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
        url = urlsplit(cfg.url)
        if url.scheme != "ws" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load goes to ws:// on loopback only, not {cfg.url!r}")
        self.host, self.port, self.path = url.hostname, url.port or 80, url.path.rstrip("/")

    @property
    def stopping(self) -> bool:
        return bool(self.flags[STOP])

    def error(self, kind: str) -> None:
        self.stats.errors[kind] += 1
        self.counters[stats.ERRORS] += 1

    def record(self, action: str, seconds: float) -> None:
        if self.flags[MEASURING] or action in ALWAYS_RECORDED:
            self.stats.hist(action).record(seconds)


class Station:
    """A station's connection and message counter; `call` keeps one CALL in flight (OCPP rule)."""

    __slots__ = ("ctx", "pending_since", "sid", "timed_out", "uid", "ws")

    def __init__(self, ctx: WorkerCtx, sid: str) -> None:
        self.ctx = ctx
        self.sid = sid
        self.uid = 0
        self.ws: WsClient | None = None
        self.pending_since = 0.0  # perf_counter() of the CALL in flight, 0.0 when none
        self.timed_out = False

    def next_uid(self) -> bytes:
        self.uid += 1
        return str(self.uid).encode()

    async def call(self, action: str, frame: bytes) -> bytes:
        """Send a CALL and wait for its answer, answering CSMS CALLs that arrive meanwhile."""
        ws, ctx = self.ws, self.ctx
        assert ws is not None
        started = self.pending_since = time.perf_counter()
        ws.send_text(frame)
        reply = await self._await_answer(ws)  # the worker's watchdog aborts it on timeout
        self.pending_since = 0.0
        ctx.record(action, time.perf_counter() - started)
        ctx.counters[stats.MESSAGES] += 1
        if kind_of(reply) == CALLERROR:
            msg = decode(reply)
            ctx.error(f"callerror:{action}:{msg[2] if len(msg) > 2 else '?'}")
        return reply

    async def _await_answer(self, ws: WsClient) -> bytes:
        while True:
            reply = await ws.recv()
            kind = kind_of(reply)
            if kind in (CALLRESULT, CALLERROR):
                return reply
            self._unsolicited(ws, reply, kind)

    def _unsolicited(self, ws: WsClient, frame: bytes, kind: int) -> None:
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
                    self._unsolicited(ws, frame, kind_of(frame))
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
        reply = await self.call("BootNotification",
                                self.ctx.frames.call(self.next_uid(), "BootNotification"))
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
    limit = time.perf_counter() - ctx.cfg.call_timeout_s
    for station in ctx.stations:
        if station.pending_since and station.pending_since < limit and station.ws is not None:
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
        station.pending_since, station.timed_out = 0.0, False
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
