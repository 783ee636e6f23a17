"""Issue #14 through the real server: a station's impossible values (NUL, >32-bit, negative,
9e18 Wh, a jump no meter makes, a seqNo bomb) get PropertyConstraintViolation; the socket stays
up, the next valid event is accepted and priced, and nothing stored is corrupted."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic

from tests.helpers.server import Api, ServerProcess, server_env

BOOT = {"chargingStation": {"vendorName": "ACME", "model": "X1"}, "reason": "PowerUp"}
T0, T1 = "2026-03-02T12:00:00Z", "2026-03-02T12:30:00Z"
REFUSED = "PropertyConstraintViolation"
PRICE_PER_KWH = 200


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_BILLING__DEFAULT_PRICE_PER_KWH_CENTAVOS=str(PRICE_PER_KWH)),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    assert proc.stop() == 0, proc.log()


def tx(tx_id: str, seq: int, kind: str = "Updated", at: str = T0, wh: float | None = None,
       **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventType": kind, "timestamp": at, "triggerReason": "MeterValuePeriodic", "seqNo": seq,
        "transactionInfo": {"transactionId": tx_id}, "evse": {"id": 1, "connectorId": 1}}
    if wh is not None:
        payload["meterValue"] = [{"timestamp": at, "sampledValue": [{"value": wh}]}]
    return payload | extra


class Station:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count()

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        mid = f"m{next(self.ids)}"
        await self.ws.send(json.dumps([2, mid, action, payload]))
        answer = json.loads(await self.ws.recv())
        assert answer[1] == mid
        return list(answer)


async def test_bad_values_are_refused_and_the_session_is_still_priced(server: ServerProcess) -> None:
    station_id = f"CP-BAD-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id)
    auth = {"Authorization": build_authorization_basic(station_id, password)}
    async with connect(f"{server.ocpp}/{station_id}", subprotocols=["ocpp2.0.1"],
                       additional_headers=auth) as ws:
        cp = Station(ws)
        assert (await cp.call("BootNotification", BOOT))[2]["status"] == "Accepted"
        assert (await cp.call("TransactionEvent", tx("T-1", 0, "Started", wh=1_000)))[0] == 3
        bad = [tx("T-1", 1, idToken={"idToken": "A\u0000B", "type": "ISO14443"}),
               tx("T-1", 1, evse={"id": 2**31}), tx("T-1", -1), tx("T-1", 1, wh=-5),
               tx("T-1", 1, wh=9e18), tx("T-1", 1, at=T1, wh=1_000 + 10**9),
               tx("T-1", 20_000_000), tx("T-2", 2**31 - 1, "Ended")]
        for payload in bad:
            for _ in range(2):  # a retry gets the same answer: refused for good, never stored
                answer = await cp.call("TransactionEvent", payload)
                assert answer[0] == 4 and answer[2] == REFUSED, (payload, answer)
        assert (await cp.call("Heartbeat", {}))[0] == 3  # the socket is still served
        ended = await cp.call("TransactionEvent", tx("T-1", 1, "Ended", at=T1, wh=8_500))
        assert ended[0] == 3 and ended[2]["totalCost"] == 7_500 * PRICE_PER_KWH / 1000 / 100
        late = await cp.call("TransactionEvent", tx("T-3", 5, wh=10))  # no Started: a gap
        assert late[0] == 3
    await _nothing_corrupted(server, station_id)


async def _nothing_corrupted(server: ServerProcess, station_id: str) -> None:
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        rows = await conn.fetch(
            "SELECT station_transaction_id, seq_no FROM transaction_events"
            " WHERE charge_point_id = $1 ORDER BY 1, 2", station_id)
        assert [(r[0], r[1]) for r in rows] == [("T-1", 0), ("T-1", 1), ("T-3", 5)]
        t1 = await conn.fetchrow("SELECT * FROM transactions WHERE station_transaction_id = 'T-1'")
        assert (t1["status"], t1["energy_wh"], t1["seq_gap"]) == ("Ended", 7_500, False)
        assert t1["cost_centavos"] == 7_500 * PRICE_PER_KWH // 1000
        values = await conn.fetch("SELECT value FROM meter_values WHERE charge_point_id = $1",
                                  station_id)
        assert sorted(int(v[0]) for v in values) == [10, 1_000, 8_500]
        events = await conn.fetch("SELECT payload FROM event_outbox WHERE subject LIKE"
                                  " 'transaction.%' AND payload->>'stationId' = $1", station_id)
        gaps = {json.loads(e[0])["transactionId"]: json.loads(e[0]) for e in events}
        assert gaps["T-1"]["missingCount"] == 0
        assert (gaps["T-3"]["missingCount"], gaps["T-3"]["missingRanges"]) == (5, [[0, 4]])
        assert max(len(e[0]) for e in events) < 4096
    finally:
        await conn.close()
