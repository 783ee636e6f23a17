"""A charging session from start to bill through the real server: a user's RFID card, a
station's transaction with meter values, the cost computed and posted once to the ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

PRICE_PER_KWH = 200  # centavos
SESSION_FEE = 100


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_BILLING__DEFAULT_PRICE_PER_KWH_CENTAVOS=str(PRICE_PER_KWH),
        SIGEC_BILLING__DEFAULT_SESSION_FEE_CENTAVOS=str(SESSION_FEE),
        SIGEC_BILLING__SEND_COST_UPDATED="true", SIGEC_BILLING__COST_UPDATED_INTERVAL_S="0.1"),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


async def test_session_from_card_to_bill(server: ServerProcess) -> None:
    station_id = f"CP-TX-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        ana = Api(server.http, http)
        status, _ = await ana.call("POST", "/api/v1/auth/register", {
            "name": "Ana", "email": "ana@example.com", "password": "a long passphrase"})
        assert status == 201
        await ana.login("ana@example.com", "a long passphrase")
        status, token = await ana.call("POST", "/api/v1/users/me/id-tokens",
                                       {"idToken": "RFID-ANA-1", "type": "ISO14443"})
        assert status == 201, token

        async with await SimulatedStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as station:
            assert (await station.boot()).status == "Accepted"
            assert (await station.authorize("RFID-ANA-1")).id_token_info["status"] == "Accepted"
            assert (await station.authorize("RFID-NOBODY")).id_token_info["status"] in (
                "Unknown", "Invalid")
            tx = await station.start_transaction("RFID-ANA-1")
            for _ in range(3):
                await station.update_transaction(add_wh=2_500)
            ended = await station.end_transaction()
            # a retried Ended (new message id, same seqNo) changes nothing
            tx.seq_no -= 1
            station.transactions[1] = tx
            again = await station.end_transaction()
            assert again.total_cost == ended.total_cost

        expected = 7_500 * PRICE_PER_KWH // 1000 + SESSION_FEE  # 7.5 kWh: 1500 + 100
        assert ended.total_cost == pytest.approx(expected / 100)
        status, history = await ana.call("GET", "/api/v1/transactions/history")
        assert status == 200 and history["total"] == 1
        item = history["items"][0]
        assert item["stationTransactionId"] == tx.transaction_id
        assert item["chargePointId"] == station_id and item["status"] in ("Ended", "ended")
        assert item["energyWh"] == 7_500
        assert item["cost"] == {"amountCentavos": expected, "currency": "BRL"}
        status, one = await ana.call("GET", f"/api/v1/transactions/{item['id']}")
        assert status == 200 and one["id"] == item["id"]
        # another user cannot see it
        bob = Api(server.http, http)
        await bob.call("POST", "/api/v1/auth/register", {
            "name": "Bob", "email": "bob@example.com", "password": "another passphrase"})
        await bob.login("bob@example.com", "another passphrase")
        assert (await bob.call("GET", f"/api/v1/transactions/{item['id']}"))[0] == 404

    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        entries = await conn.fetch(
            "SELECT id FROM journal_entries WHERE source_type = 'charging_session' "
            "AND source_id = $1", f"{station_id}/{tx.transaction_id}")
        assert len(entries) == 1  # billed exactly once
        total = await conn.fetchval(
            "SELECT sum(amount_centavos) FROM postings WHERE journal_entry_id = $1",
            entries[0]["id"])
        assert total == 0  # double entry balances
        drift = await conn.fetchval("SELECT count(*) FROM ledger_balance_drift")
        assert drift == 0
    finally:
        await conn.close()


async def test_app_starts_and_stops_a_session_and_sees_running_cost(server: ServerProcess) -> None:
    station_id = f"CP-APP-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        bia = Api(server.http, http)
        await bia.call("POST", "/api/v1/auth/register", {
            "name": "Bia", "email": "bia@example.com", "password": "bia's passphrase"})
        await bia.login("bia@example.com", "bia's passphrase")
        async with await SimulatedStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as station:
            assert (await station.boot()).status == "Accepted"
            status, started = await bia.call("POST", "/api/v1/transactions/start",
                                             {"chargePointId": station_id})
            assert status == 200 and started["accepted"] is True, started
            active = await _eventually_active(bia)
            await station.update_transaction(add_wh=4_000)
            for _ in range(50):  # CostUpdated is sent in the background after the commit
                if station.costs:
                    break
                await asyncio.sleep(0.1)
            assert station.costs and station.costs[-1][1] > 0
            status, _ = await bia.call("POST", f"/api/v1/transactions/{active['id']}/stop")
            assert status == 200
            for _ in range(50):
                status, one = await bia.call("GET", f"/api/v1/transactions/{active['id']}")
                if one["endedAt"]:
                    break
                await asyncio.sleep(0.1)
        assert one["energyWh"] == 4_000
        assert one["cost"]["amountCentavos"] == 4_000 * PRICE_PER_KWH // 1000 + SESSION_FEE


async def _eventually_active(api: Api) -> dict[str, object]:
    for _ in range(50):
        status, active = await api.call("GET", "/api/v1/transactions/active")
        items = active if isinstance(active, list) else active.get("items", [])
        if status == 200 and items:
            return dict(items[0])
        await asyncio.sleep(0.1)
    raise AssertionError("no active session after the remote start")


class TokenlessRemoteStation(SimulatedStation):
    """A station whose Started after a RequestStartTransaction names only the remoteStartId."""

    async def _follow_up(self, action: str, kw: dict[str, Any]) -> None:
        if action != "RequestStartTransaction":
            await super()._follow_up(action, kw)
            return
        await asyncio.sleep(0)
        await self.start_transaction(None, remote_start_id=kw["remote_start_id"])


async def test_remote_start_without_token_is_the_askers_and_late_events_change_no_bill(
        server: ServerProcess) -> None:
    station_id = f"CP-RS-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        caio = Api(server.http, http)
        await caio.call("POST", "/api/v1/auth/register", {
            "name": "Caio", "email": "caio@example.com", "password": "caio's passphrase"})
        await caio.login("caio@example.com", "caio's passphrase")
        async with await TokenlessRemoteStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as station:
            assert (await station.boot()).status == "Accepted"
            status, started = await caio.call("POST", "/api/v1/transactions/start",
                                              {"chargePointId": station_id})
            assert status == 200 and started["accepted"] is True, started
            active = await _eventually_active(caio)  # Caio's, though no idToken was sent
            tx = station.transactions[1]
            await station.update_transaction(add_wh=2_000)
            ended = await station.end_transaction()
            tx.meter_wh += 3_000  # a late Updated, and a second Started with another card
            late = await station._tx_event(tx, "Updated", "MeterValuePeriodic")
            await station._tx_event(tx, "Started", "Authorized",
                                    id_token={"id_token": "RFID-OTHER", "type": "ISO14443"})
        expected = 2_000 * PRICE_PER_KWH // 1000 + SESSION_FEE
        assert ended.total_cost == late.total_cost == pytest.approx(expected / 100)
        status, one = await caio.call("GET", f"/api/v1/transactions/{active['id']}")
        assert status == 200 and one["energyWh"] == 2_000
        assert one["cost"]["amountCentavos"] == expected
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        total = await conn.fetchval(
            "SELECT sum(p.amount_centavos) FROM postings p JOIN journal_entries j"
            " ON j.id = p.journal_entry_id WHERE j.source_type = 'charging_session'"
            " AND j.source_id = $1 AND p.amount_centavos > 0",
            f"{station_id}/{tx.transaction_id}")
        token = await conn.fetchval(
            "SELECT id_token FROM transactions WHERE station_transaction_id = $1",
            tx.transaction_id)
    finally:
        await conn.close()
    assert total == expected and token.startswith("app-")
