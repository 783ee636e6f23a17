"""Offline replay (goal R4) on a real node: a station that charged while offline reconnects
and sends its 1,000 queued TransactionEvents (offline=true, 200 sessions Started..Ended, their
own past timestamps) one after another. Every one is answered CALLRESULT at the first try,
stored once, each session billed once at the times the station measured, not at arrival."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.e2e.test_crash_transactions import _event
from tests.fault.conftest import report, start_node
from tests.fault.stations import TxStation, check_stored_once

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
SESSIONS, EVENTS = 200, 5  # 1,000 queued events
STEP = timedelta(seconds=5)  # between two queued events, as the station measured them


def queued(token: str, since: datetime) -> list[tuple[str, int, dict[str, Any]]]:
    """(transactionId, seqNo, payload) of the station's queue, oldest first."""
    out = []
    for n in range(SESSIONS):
        txid = uuid.uuid4().hex
        for seq in range(EVENTS):
            kind = "Started" if seq == 0 else "Ended" if seq == EVENTS - 1 else "Updated"
            payload = _event(txid, seq, kind, seq * 500, token if seq == 0 else None)
            at = (since + (n * EVENTS + seq) * STEP).isoformat()
            payload["timestamp"] = payload["meterValue"][0]["timestamp"] = at
            payload["offline"] = True
            out.append((txid, seq, payload))
    return out


async def test_a_thousand_queued_events_are_replayed_in_order(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> None:
    node = await start_node(tmp_path, fresh_pg_dsn, nats_url, stations=1)
    (sid,) = node.ids
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    station = TxStation(sid, node.server.ocpp, f"RFID-{sid}", asyncio.Event())  # not run()
    waits: list[float] = []
    try:
        for txid, seq, payload in queued(station.token, since):
            sent = time.monotonic()
            await station.call("TransactionEvent", payload)
            waits.append(time.monotonic() - sent)
            station.acked.add((txid, seq))
            if seq == EVENTS - 1:
                station.ended.add(txid)
        acked = await check_stored_once(fresh_pg_dsn, [station])
        conn = await asyncpg.connect(fresh_pg_dsn)
        try:
            rows = await conn.fetch(
                "SELECT started_at, ended_at, energy_wh FROM transactions"
                " WHERE charge_point_id = $1 ORDER BY started_at", sid)
        finally:
            await conn.close()
    finally:
        node.server.kill()
    waits.sort()
    report("offline-replay", queued_events=len(waits), retries=station.retries,
           answer_s={"p50": round(waits[len(waits) // 2], 4),
                     "p99": round(waits[int(len(waits) * 0.99)], 4),
                     "max": round(waits[-1], 4)}, total_s=round(sum(waits), 2))
    assert acked == SESSIONS * EVENTS
    assert station.retries == 0, "a queued event was refused or not answered in 5 s"
    assert len(rows) == SESSIONS
    for n, row in enumerate(rows):  # the station's times, not the replay's
        assert row["started_at"] == since + n * EVENTS * STEP
        assert row["ended_at"] == since + (n * EVENTS + EVENTS - 1) * STEP
        assert row["energy_wh"] == (EVENTS - 1) * 500
