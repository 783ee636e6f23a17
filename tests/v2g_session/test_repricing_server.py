"""Through the real server: a discharge whose hours have no grid price fails its compensation;
the csv price source's next refresh brings the prices and the node's repricing job pays it once;
the admin settle route answers 409 naming the hours before, 200 after, 404 for no session."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest

from sigec_actors.v2g.pricing import HourPrice, Submarket, compensate, split_by_hour
from tests.e2e.test_v2g_discharge import POLICY, _owner_with_transaction, _until
from tests.helpers.server import ServerProcess, server_env

pytestmark = pytest.mark.pg
HEADER = "MES_REFERENCIA;SUBMERCADO;PERIODO_COMERCIALIZACAO;DIA;HORA;PLD_HORA\n"
PLD = [33_000, 45_000, 51_000, 27_000, 39_000, 42_000, 36_000]  # centavos/MWh from now-1h
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str,
                 nats_url: str) -> AsyncIterator[ServerProcess]:
    csv = tmp_path / "pld.csv"
    csv.write_text(HEADER)  # the csv source: no prices at all yet
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_V2G__PRICE_SOURCE="csv", SIGEC_V2G__PRICE_CSV_PATH=str(csv),
        SIGEC_V2G__PRICE_REFRESH_INTERVAL_S="1", SIGEC_V2G__REPRICING_INTERVAL_S="1"),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    proc.csv = csv  # type: ignore[attr-defined]
    yield proc
    proc.kill()


def _publish(csv: Path) -> dict[datetime, HourPrice]:
    """Write CCEE rows (Sao Paulo hours) for now-1h.. into the file the node re-reads."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    lines, prices = [HEADER], {}
    for i, pld in enumerate(PLD):
        hour = start + timedelta(hours=i)
        local = hour.astimezone(SAO_PAULO)
        lines.append(f"{local:%Y%m};SUDESTE;1;{local.day};{local.hour};{pld / 100:.2f}\n")
        prices[hour] = HourPrice(Submarket.SE, hour, pld, False, "csv")
    csv.write_text("".join(lines))
    return prices


async def test_a_price_gap_is_paid_once_the_source_brings_the_prices(
        server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        admin, ana, station, station_id = await _owner_with_transaction(server, http)
        async with station:
            status, started = await ana.call("POST", "/api/v1/v2g/discharge/start",
                                             {"chargePointId": station_id, "minSoc": 60})
            assert status == 201, started
            sid = started["session"]["id"]
            failed = await _until(ana, f"/api/v1/v2g/session/{sid}",
                                  lambda s: s["compensation"]["status"] == "failed")
        assert failed["status"] == "completed"
        settle = f"/api/v1/admin/v2g/sessions/{sid}/settle"
        status, gap = await admin.call("POST", settle)
        assert status == 409 and gap["reason"] == "price_gap", gap
        conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
        try:
            stored = await conn.fetchval("SELECT missing_hours FROM v2g_compensations"
                                         " WHERE session_id = $1", uuid.UUID(sid))
            alert = await conn.fetchval("SELECT count(*) FROM alerts WHERE dedupe_key = $1"
                                        " AND resolved_at IS NULL", f"v2g.price_gap:{sid}")
        finally:
            await conn.close()
        assert gap["missingHours"] and gap["missingHours"] == json.loads(stored)
        assert alert == 1

        prices = _publish(server.csv)  # type: ignore[attr-defined]
        paid = await _until(ana, f"/api/v1/v2g/session/{sid}",
                            lambda s: s["compensation"]["status"] == "paid")
        conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
        try:
            rows = await conn.fetch("SELECT occurred_at, energy_wh FROM v2g_events WHERE"
                                    " session_id = $1 AND event_type = 'meter'", uuid.UUID(sid))
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM journal_entries WHERE source_type ="
                " 'v2g_compensation' AND source_id = $1) AS entries,"
                " (SELECT count(*) FROM event_outbox WHERE subject = 'v2g.compensation.paid'"
                " AND payload->>'sessionId' = $1) AS paid,"
                " (SELECT count(*) FROM alerts WHERE dedupe_key = 'v2g.price_gap:' || $1"
                " AND resolved_at IS NULL) AS open_alerts", sid)
        finally:
            await conn.close()
        expected = compensate(split_by_hour([(r["occurred_at"], r["energy_wh"]) for r in rows]),
                              prices, POLICY)
        assert paid["compensation"] == {
            "grossCentavos": expected.gross_centavos, "marginCentavos": expected.margin_centavos,
            "netCentavos": expected.net_centavos, "status": "paid"}
        assert expected.net_centavos > 0 and tuple(counts) == (1, 1, 0)
        wallet = await _until(ana, "/api/v1/wallet", lambda w: w["balanceCentavos"] > 0)
        assert wallet["balanceCentavos"] == expected.net_centavos
        status, again = await admin.call("POST", settle)
        assert status == 200 and again["compensation"] == paid["compensation"], again
        status, _ = await admin.call("POST", f"/api/v1/admin/v2g/sessions/{uuid.uuid4()}/settle")
        assert status == 404
        status, _ = await ana.call("POST", settle)
        assert status == 403
        conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
        try:
            audited = await conn.fetch(
                "SELECT action, details->>'result' AS result, host(ip) AS ip FROM audit_log"
                " WHERE target_type = 'v2g_session' AND target_id = $1 ORDER BY id", sid)
        finally:
            await conn.close()
        assert [tuple(r) for r in audited] == [("v2g.settle", "failed", "127.0.0.1"),
                                               ("v2g.settle", "paid", "127.0.0.1")]
