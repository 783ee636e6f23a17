"""Fault-suite stations and checks: retrying transaction stations, lean heartbeat stations, the
'nothing acknowledged lost, nothing stored or published twice' checks."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import nats
from nats.js import JetStreamContext

from bench.load.wsclient import Closed, HandshakeError, WsClient, open_ws
from sigec_actors.domain.events import STREAMS
from tests.e2e.test_crash_transactions import RetryingStation, _check_store, _event

CALL_TIMEOUT_S = 5.0


class TxStation(RetryingStation):
    """Runs charging sessions (Started, 3 Updated, Ended) until `stop` is set; each CALL is
    retried with a new message id until it is answered (OCPP 2.0.1 §4.1.4)."""

    def __init__(self, station_id: str, url: str, token: str, stop: asyncio.Event) -> None:
        super().__init__(station_id, url, token)
        self.stop = stop
        self.answers: list[tuple[float, float]] = []  # (answered at, seconds since first sent)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        sent = time.monotonic()
        reply = await super().call(action, payload)
        now = time.monotonic()
        self.answers.append((now, now - sent))
        return reply

    async def run(self) -> None:
        while not self.stop.is_set():
            txid = uuid.uuid4().hex
            for seq in range(5):
                kind = "Started" if seq == 0 else "Ended" if seq == 4 else "Updated"
                await self.call("TransactionEvent",
                                _event(txid, seq, kind, seq * 1000, self.token if seq == 0 else None))
                self.acked.add((txid, seq))
            self.ended.add(txid)
        if self.ws is not None:
            await self.ws.close()


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def recovered_after(answers: list[tuple[float, float]], since: float, bound_s: float,
                    window_s: float = 1.0) -> float | None:
    """Seconds from `since` (a fault removed) until the p99 of a sliding `window_s` window of
    answers (by answer time, each CALL timed from its first send, retries included) went under
    `bound_s` and stayed there; None while the last window is still above it."""
    ordered = sorted(answers)
    recovered: float | None = None
    for i, (at, _) in enumerate(ordered):
        if at < since:
            continue
        window = [lat for t, lat in ordered[:i + 1] if t > at - window_s]
        if p99(window) > bound_s:
            recovered = None
        elif recovered is None:
            recovered = at - since
    return recovered


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def check_stored_once(dsn: str, stations: list[TxStation]) -> int:
    """Every acknowledged event is stored exactly once, every ended session billed once.
    Returns how many events were acknowledged."""
    await _check_store(dsn, stations)  # type: ignore[arg-type]
    conn = await asyncpg.connect(dsn)
    try:
        twice = await conn.fetch(
            "SELECT charge_point_id, station_transaction_id, seq_no, count(*) AS n"
            " FROM transaction_events GROUP BY 1, 2, 3 HAVING count(*) > 1")
    finally:
        await conn.close()
    assert not twice, f"stored twice: {[dict(r) for r in twice[:5]]}"
    return sum(len(s.acked) for s in stations)


async def outbox_state(dsn: str) -> tuple[int, int]:
    """(rows not yet sent, rows in all) of event_outbox."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent,"
                                  " count(*) AS total FROM event_outbox")
    finally:
        await conn.close()
    assert row is not None
    return int(row["unsent"]), int(row["total"])


async def _stream_ids(js: JetStreamContext) -> list[str]:
    ids: list[str] = []
    for name in STREAMS:
        try:
            info = await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            continue
        if not info.state.messages:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(name, seq)
            assert msg.headers is not None
            ids.append(msg.headers["Nats-Msg-Id"])
    return ids


async def check_outbox_exactly_once(dsn: str, nats_url: str) -> int:
    """Once faults stop every outbox row is sent and in JetStream exactly once (the NATS server
    is private to the test, so its streams hold only this server's events). Returns the count."""
    await eventually(lambda: _drained(dsn))
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, parked_at FROM event_outbox")
    finally:
        await conn.close()
    assert not [r["id"] for r in rows if r["parked_at"] is not None], "an event was parked"
    nc = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=3)
    try:
        published = Counter(await _stream_ids(nc.jetstream()))
    finally:
        await nc.close()
    outbox = {str(r["id"]) for r in rows}
    assert set(published) == outbox, (sorted(outbox - set(published))[:5],
                                      sorted(set(published) - outbox)[:5])
    assert max(published.values(), default=1) == 1, "an event was published twice"
    return len(outbox)


async def _drained(dsn: str) -> bool:
    return (await outbox_state(dsn))[0] == 0


class HeartbeatStation:
    """A lean station (bench's WebSocket client): boot once, then Heartbeats on demand."""

    def __init__(self, station_id: str, host: str, port: int) -> None:
        self.station_id = station_id
        self.addr = (host, port)
        self.ws: WsClient | None = None
        self.uid = 0
        self.answered = 0
        self.connect_attempts = 0
        self.handshake_s = 0.0  # the WebSocket upgrade of the last successful connect
        self.connected_s = 0.0  # from connect() to booted, retries included

    async def connect(self, deadline: float) -> None:
        """Connect and boot, retrying until `deadline` (monotonic)."""
        began = time.monotonic()
        while True:
            self.connect_attempts += 1
            try:
                opening = time.monotonic()
                self.ws = await asyncio.wait_for(open_ws(
                    *self.addr, f"/ocpp/{self.station_id}", "ocpp2.0.1", {}), CALL_TIMEOUT_S)
                self.handshake_s = time.monotonic() - opening
                await self.call("BootNotification", {"reason": "PowerUp", "chargingStation": {
                    "model": "Storm", "vendorName": "T"}})
                self.connected_s = time.monotonic() - began
                return
            except (OSError, TimeoutError, Closed, HandshakeError):
                self.close()
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        assert self.ws is not None
        self.uid += 1
        uid = str(self.uid)
        self.ws.send_text(json.dumps([2, uid, action, payload]).encode())
        async with asyncio.timeout(CALL_TIMEOUT_S * 6):
            while True:
                reply = json.loads(await self.ws.recv())
                if reply[0] in (3, 4) and reply[1] == uid:
                    assert reply[0] == 3, reply
                    self.answered += 1
                    return list(reply)

    async def heartbeat(self) -> None:
        await self.call("Heartbeat", {})

    def close(self) -> None:
        if self.ws is not None:
            self.ws.abort()
            self.ws = None
