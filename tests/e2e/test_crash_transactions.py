"""SIGKILL the server while stations run transactions and retry unanswered CALLs with new
message ids (OCPP 2.0.1 §4.1.4): every acknowledged event is stored, nothing is billed twice."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import websockets

from tests.helpers.server import Api, ServerProcess, free_port, server_env

STATIONS = 4
SESSIONS = 3
UPDATES = 3
KILLS = 3
SEED = 20261129


class RetryingStation:
    """A minimal station: re-sends each TransactionEvent with a new id until it is answered."""

    def __init__(self, station_id: str, url: str, token: str) -> None:
        self.station_id = station_id
        self.url = url
        self.token = token
        self.ws: Any = None
        self.acked: set[tuple[str, int]] = set()
        self.ended: set[str] = set()
        self.retries = 0

    async def _connection(self) -> Any:
        if self.ws is None:
            ws = await websockets.connect(f"{self.url}/{self.station_id}",
                                          subprotocols=["ocpp2.0.1"], open_timeout=3)  # type: ignore[list-item]
            boot = uuid.uuid4().hex
            await ws.send(json.dumps([2, boot, "BootNotification", {
                "reason": "PowerUp", "chargingStation": {"model": "Crash", "vendorName": "T"}}]))
            await asyncio.wait_for(self._answer_to(ws, boot), 5)
            self.ws = ws
        return self.ws

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        while True:
            try:
                ws = await self._connection()
                message_id = uuid.uuid4().hex
                await ws.send(json.dumps([2, message_id, action, payload]))
                reply = await asyncio.wait_for(self._answer_to(ws, message_id), 5)
                if reply[0] == 3:
                    return reply
            except (OSError, TimeoutError, websockets.ConnectionClosed,
                    websockets.InvalidStatus, websockets.InvalidHandshake):
                self.ws = None
            self.retries += 1
            await asyncio.sleep(0.2)

    @staticmethod
    async def _answer_to(ws: Any, message_id: str) -> list[Any]:
        """The CALLRESULT/CALLERROR with `message_id`. A reconnected station may get the CSMS's
        own CALLs first (GetTransactionStatus after a reconnect): they are answered NotImplemented,
        and an answer to another id (a late one) is skipped, never taken for this CALL's."""
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == 2:
                await ws.send(json.dumps([4, frame[1], "NotImplemented", "test station", {}]))
            elif frame[1] == message_id:
                return list(frame)

    async def run(self) -> None:
        for _ in range(SESSIONS):
            txid = uuid.uuid4().hex
            wh = 0
            for seq in range(UPDATES + 2):
                kind = "Started" if seq == 0 else "Ended" if seq == UPDATES + 1 else "Updated"
                payload = _event(txid, seq, kind, wh, self.token if seq == 0 else None)
                await self.call("TransactionEvent", payload)
                self.acked.add((txid, seq))
                wh += 1000
            self.ended.add(txid)
        if self.ws is not None:
            await self.ws.close()


def _event(txid: str, seq: int, kind: str, wh: int, token: str | None) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    payload: dict[str, Any] = {
        "eventType": kind, "timestamp": now, "seqNo": seq,
        "triggerReason": "Authorized" if kind == "Started" else "MeterValuePeriodic",
        "transactionInfo": {"transactionId": txid}, "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": now, "sampledValue": [{
            "value": wh, "measurand": "Energy.Active.Import.Register"}]}]}
    if token is not None:
        payload["idToken"] = {"idToken": token, "type": "ISO14443"}
    return payload


async def _seed(api: Api, ids: list[str]) -> None:
    await api.login()
    for sid in ids:
        await api.add_station(sid, 0)
    status, _ = await api.call("POST", "/api/v1/auth/register", {
        "name": "Crash", "email": "crash@example.com", "password": "crash test passphrase"})
    assert status == 201
    user = Api(api.base, api.session)
    await user.login("crash@example.com", "crash test passphrase")
    for sid in ids:
        status, body = await user.call("POST", "/api/v1/users/me/id-tokens",
                                       {"idToken": f"RFID-{sid}", "type": "ISO14443"})
        assert status == 201, body


async def _killer(server: ServerProcess, rng: random.Random, done: asyncio.Event) -> int:
    kills = 0
    while kills < KILLS and not done.is_set():
        await asyncio.sleep(rng.uniform(0.3, 1.2))
        server.stop(signal.SIGKILL, timeout_s=5)
        kills += 1
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        await asyncio.to_thread(server.start)
    return kills


async def test_sigkill_loses_nothing_acknowledged_and_bills_once(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> None:
    data = tmp_path / "data"
    env = server_env(data, DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
                     SIGEC_HTTP_PORT=str(free_port()), SIGEC_OCPP_PORT=str(free_port()),
                     SIGEC_BILLING__SETTLE_INTERVAL_S="1")
    server = ServerProcess(data, env, tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    ids = [f"CP-CRASH-{i}" for i in range(STATIONS)]
    try:
        async with aiohttp.ClientSession() as http:
            await _seed(Api(server.http, http), ids)
        stations = [RetryingStation(sid, server.ocpp, f"RFID-{sid}") for sid in ids]
        done = asyncio.Event()
        killer = asyncio.create_task(_killer(server, random.Random(SEED), done))
        await asyncio.wait_for(asyncio.gather(*(s.run() for s in stations)), 120)
        done.set()
        assert await killer >= 1, "the server was never killed"
        await _check_store(fresh_pg_dsn, stations)
    finally:
        server.kill()


async def _check_store(dsn: str, stations: list[RetryingStation]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT charge_point_id, station_transaction_id, seq_no FROM transaction_events")
        stored = {(r["charge_point_id"], r["station_transaction_id"], r["seq_no"]) for r in rows}
        for s in stations:
            missing = {(s.station_id, tx, seq) for tx, seq in s.acked} - stored
            assert not missing, f"acknowledged but not stored: {sorted(missing)[:5]}"
        expected = {f"{s.station_id}/{tx}" for s in stations for tx in s.ended}
        billed: list[str] = []
        for _ in range(100):  # the billing sweep repairs a crash between commit and posting
            billed = [r["source_id"] for r in await conn.fetch(
                "SELECT source_id FROM journal_entries WHERE source_type = 'charging_session'")]
            if set(billed) >= expected:
                break
            await asyncio.sleep(0.2)
        assert len(billed) == len(set(billed)), "a transaction was billed twice"
        assert set(billed) == expected
        assert await conn.fetchval("SELECT count(*) FROM ledger_balance_drift") == 0
    finally:
        await conn.close()
