"""Reservations and reconciliation through the real server: ReserveNow/CancelReservation reach
the station, a reserved EVSE starts only for its holder, and a transaction with a lost event
makes the CSMS ask the station with GetTransactionStatus and open an operator review."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env


class ReconcilingStation(SimulatedStation):
    """The simulator plus an answer to GetTransactionStatus (the simulator has none)."""

    asked: list[str]

    @on(Action.get_transaction_status)  # type: ignore[misc]
    async def on_get_transaction_status(self, transaction_id: str | None = None,
                                        **kw: Any) -> Any:
        self.stats.commands["GetTransactionStatus"] += 1
        self.asked = [*getattr(self, "asked", []), transaction_id or ""]
        return call_result.GetTransactionStatus(messages_in_queue=False, ongoing_indicator=False)


@pytest.fixture
async def server(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", server_env(
        tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url),
        tmp_path / "server.log")
    await asyncio.to_thread(proc.start)
    proc.dsn = fresh_pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


async def _user(http: aiohttp.ClientSession, base: str, name: str, card: str) -> Api:
    api = Api(base, http)
    email, password = f"{name}@example.com", f"{name} has a long passphrase"
    status, _ = await api.call("POST", "/api/v1/auth/register",
                               {"name": name, "email": email, "password": password})
    assert status == 201
    await api.login(email, password)
    status, body = await api.call("POST", "/api/v1/users/me/id-tokens",
                                  {"idToken": card, "type": "ISO14443"})
    assert status == 201, body
    return api


async def _event(station: SimulatedStation, kind: str, seq: int, tx: str, wh: int,
                 card: str | None = None) -> Any:
    now = datetime.now(UTC).isoformat()
    extra = {"id_token": {"id_token": card, "type": "ISO14443"}} if card else {}
    return await station.call(call.TransactionEvent(
        event_type=kind, timestamp=now, seq_no=seq,
        trigger_reason="Authorized" if kind == "Started" else "MeterValuePeriodic",
        transaction_info={"transaction_id": tx}, evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": now, "sampled_value": [{
            "value": wh, "measurand": "Energy.Active.Import.Register"}]}], **extra),
        suppress=False)


async def _eventually(probe: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("not within the timeout")


async def test_reserve_cancel_holder_only_and_reconcile(server: ServerProcess) -> None:
    station_id = f"CP-RV-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        ana = await _user(http, server.http, "ana", "RFID-ANA")
        bob = await _user(http, server.http, "bob", "RFID-BOB")
        async with await ReconcilingStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as station:
            assert (await station.boot()).status == "Accepted"
            await station.status(1, 1, "Available")  # EVSE 1 exists: it may be reserved
            body = {"chargePointId": station_id, "evseId": 1, "expiresInS": 600}
            status, first = await ana.call("POST", "/api/v1/reservations", body)
            assert status == 201 and first["status"] == "Accepted", first
            status, gone = await ana.call("DELETE", f"/api/v1/reservations/{first['id']}")
            assert status == 200 and gone["status"] == "Cancelled", gone
            assert station.stats.commands["ReserveNow"] == 1
            assert station.stats.commands["CancelReservation"] == 1
            status, held = await ana.call("POST", "/api/v1/reservations", body)
            assert status == 201 and held["accepted"], held
            assert (await bob.call("POST", "/api/v1/reservations", body))[0] == 409

            refused = await _event(station, "Started", 0, "tx-bob", 0, "RFID-BOB")
            assert refused.id_token_info["status"] == "NotAtThisTime"
            await _event(station, "Ended", 1, "tx-bob", 0)
            started = await _event(station, "Started", 0, "tx-ana", 1_000, "RFID-ANA")
            assert started.id_token_info["status"] == "Accepted"
            status, mine = await ana.call("GET", "/api/v1/reservations")
            assert [r["status"] for r in mine] == ["Used", "Cancelled"], mine

            await _event(station, "Updated", 1, "tx-ana", 2_000)  # seqNo 2 is lost
            ended = await _event(station, "Ended", 3, "tx-ana", 4_000)
            assert ended.total_cost is not None
            await _eventually(lambda: _asked(station))
            assert station.asked == ["tx-ana"]
            assert await _review(server.dsn, station_id)  # type: ignore[attr-defined]
            status, tx = await ana.call("GET", "/api/v1/transactions/history")
            assert tx["items"][0]["incomplete"] is True

            # the station reports a reservation it let expire: the CSMS records it
            status, later = await ana.call("POST", "/api/v1/reservations", body)
            assert status == 201 and later["accepted"], later
            await station.call(call.ReservationStatusUpdate(
                reservation_id=later["reservationId"], reservation_update_status="Expired"))
            status, seen = await ana.call("GET", f"/api/v1/reservations/{later['id']}")
            assert status == 200 and seen["status"] == "Expired", seen


async def test_reservations_are_bounded(server: ServerProcess) -> None:
    """Issue #13: only reported EVSEs, at most 2 live per user (the default), one "any EVSE"
    per user and station, no more live ones on a station than it has EVSEs."""
    station_id = f"CP-RB-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        ana = await _user(http, server.http, "ana", "RFID-ANA")
        bob = await _user(http, server.http, "bob", "RFID-BOB")
        async with await SimulatedStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as station:
            assert (await station.boot()).status == "Accepted"

            async def reserve(api: Api, evse: int | None) -> tuple[int, dict[str, Any]]:
                body = {"chargePointId": station_id, "expiresInS": 86_400}
                status, reply = await api.call(
                    "POST", "/api/v1/reservations", body | ({"evseId": evse} if evse else {}))
                return status, reply

            status, none_yet = await reserve(ana, None)  # no EVSE reported yet
            assert status == 409 and "0" in none_yet["detail"], none_yet
            for evse in (1, 2):
                await station.status(evse, 1, "Available")
            status, problem = await reserve(ana, 21)
            assert status == 422 and problem["field"] == "evseId", problem
            assert "EVSE 21" in problem["detail"] and "1, 2" in problem["detail"]
            status, first = await reserve(ana, 1)
            assert status == 201 and first["accepted"], first
            assert (await reserve(ana, None))[0] == 201
            status, capped = await reserve(ana, 2)
            assert status == 409 and "at most 2" in capped["detail"], capped
            status, full = await reserve(bob, None)
            assert status == 409 and station_id in full["detail"], full
            assert (await ana.call("DELETE", f"/api/v1/reservations/{first['id']}"))[0] == 200
            assert (await reserve(ana, None))[0] == 409  # one "any EVSE" per user and station
            assert (await reserve(bob, 2))[0] == 201
            assert station.stats.commands["ReserveNow"] == 3


async def _asked(station: ReconcilingStation) -> bool:
    return bool(getattr(station, "asked", []))


async def _review(dsn: str, station_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow(
                "SELECT kind, details FROM alerts WHERE charge_point_id = $1 AND kind ="
                " 'transaction_incomplete' AND resolved_at IS NULL", station_id)
            billed = await conn.fetchval(
                "SELECT count(*) FROM journal_entries WHERE source_type = 'charging_session'"
                " AND source_id = $1", f"{station_id}/tx-ana")
        finally:
            await conn.close()
        assert billed == 0  # never billed silently
        return dict(row) if row else None
    found: dict[str, Any] = await _eventually(probe)
    return found
