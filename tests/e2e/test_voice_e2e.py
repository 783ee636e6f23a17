"""The voice assistant through the real server and a simulated station: a spoken (typed)
command starts a real transaction, a confirmed one stops it, over REST and over WS /ws/voice;
another user's session is out of reach; audio without speech-to-text is a 501."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import asyncpg
import msgspec
import pytest

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env

VOICE = "/api/v1/voice/command"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("voice")
    proc = ServerProcess(tmp / "data", server_env(tmp / "data", DATABASE_URL=pg_dsn,
                                                  NATS_URL=nats_url), tmp / "server.log")
    proc.start()
    proc.dsn = pg_dsn  # type: ignore[attr-defined]
    yield proc
    proc.kill()


async def _user(server: ServerProcess, http: aiohttp.ClientSession, name: str) -> Api:
    api = Api(server.http, http)
    await api.register(name, f"{name}-{uuid.uuid4().hex[:6]}@example.com",
                       f"{name}'s long passphrase")
    return api


async def _station(server: ServerProcess, http: aiohttp.ClientSession, number: int
                   ) -> SimulatedStation:
    station_id = f"VOZ-{uuid.uuid4().hex[:4]}-{number:03d}"
    admin = Api(server.http, http)
    await admin.login()
    password = await admin.add_station(station_id)
    station = await SimulatedStation.connect(server.ocpp, SimConfig(station_id),
                                             password=password)
    assert (await station.boot()).status == "Accepted"
    return station


async def test_start_and_stop_a_real_session_by_voice_over_rest(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        ana, bob = await _user(server, http, "ana"), await _user(server, http, "bob")
        number = 101  # each test's station has its own number: "carregador 101" is this one
        async with await _station(server, http, number) as station:
            status, said = await ana.call("POST", VOICE, {
                "text": f"inicia a recarga no carregador {number}"})
            assert status == 200, said
            assert said["intent"] == {"name": "start_charging",
                                      "slots": {"station": station.config.station_id}}
            assert said["outcome"] == "done" and said["language"] == "pt-BR", said
            assert said["result"]["accepted"] is True and "Iniciando" in said["reply"]
            active = await ana.until("/api/v1/transactions/active", bool)
            tx_id = active[0]["id"]
            # Bob asks to stop "his" charging: he has none; Ana's goes on
            _, bobs = await bob.call("POST", VOICE, {"text": "stop my charging"})
            assert bobs["outcome"] == "awaiting_confirmation"
            _, bobs = await bob.call("POST", VOICE, {"text": "yes"})
            assert bobs["outcome"] == "clarify" and "no charging session" in bobs["reply"]
            # Ana: stopping ends a session, so it is confirmed first
            _, asked = await ana.call("POST", VOICE, {"text": "para a recarga"})
            assert asked["needsConfirmation"] is True and "sim ou não" in asked["reply"]
            _, tx = await ana.call("GET", f"/api/v1/transactions/{tx_id}")
            assert tx["status"].lower() == "active"  # nothing sent before the yes
            _, done = await ana.call("POST", VOICE, {"text": "sim"})
            assert done["outcome"] == "done" and done["result"]["accepted"] is True, done
            await ana.until(f"/api/v1/transactions/{tx_id}", lambda b: b["endedAt"])
            _, again = await ana.call("POST", VOICE, {"text": "sim"})
            assert again["outcome"] == "clarify"  # a second yes runs nothing
        status, history = await ana.call("GET", "/api/v1/voice/history?limit=10")
        assert status == 200 and history["total"] == 4
        assert [i["outcome"] for i in history["items"]] == [
            "clarify", "done", "confirmed", "done"]
        _, bob_history = await bob.call("GET", "/api/v1/voice/history")
        assert bob_history["total"] == 2  # his own only
    conn = await asyncpg.connect(server.dsn)  # type: ignore[attr-defined]
    try:
        events = await conn.fetchval(
            "SELECT count(*) FROM event_outbox WHERE subject = 'voice.command.processed'")
    finally:
        await conn.close()
    assert events == 6


async def _ws(server: ServerProcess, http: aiohttp.ClientSession, api: Api
              ) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(server.http.replace("http", "ws") + "/ws/voice",
                               headers={"Authorization": f"Bearer {api.token}"})
    ready = msgspec.json.decode(await ws.receive_bytes(timeout=10))
    assert ready == {"type": "ready", "recognizer": "rules"}
    return ws


async def _until_type(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = msgspec.json.decode(await ws.receive_bytes(timeout=20))
        if message["type"] == kind:
            return dict(message)


async def test_the_websocket_starts_and_stops_with_a_confirmation(
        server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        cris = await _user(server, http, "cris")
        number = 202
        async with await _station(server, http, number) as station:
            ws = await _ws(server, http, cris)
            await ws.send_json({"type": "text", "text": f"start charging at station {number}"})
            intent = await _until_type(ws, "intent")
            assert intent["intent"]["name"] == "start_charging" and intent["language"] == "en"
            result = await _until_type(ws, "result")
            assert result["outcome"] == "done" and result["result"]["accepted"], result["reply"]
            await cris.until("/api/v1/transactions/active", bool)
            await ws.send_json({"type": "text", "text": "stop charging"})
            confirm = await _until_type(ws, "confirm")
            assert "yes or no" in confirm["question"]
            assert (await _until_type(ws, "result"))["outcome"] == "awaiting_confirmation"
            await ws.send_json({"type": "text", "text": "yes"})
            result = await _until_type(ws, "result")
            assert result["outcome"] == "done", result
            await cris.until("/api/v1/transactions/history",
                         lambda b: b["items"] and b["items"][0]["endedAt"])
            await ws.send_bytes(b"not json")
            error = await _until_type(ws, "error")
            assert error["status"] == 422
            await ws.send_json({"type": "audio", "data": base64.b64encode(b"RIFF").decode()})
            await ws.send_json({"type": "audio_end", "format": "wav"})
            error = await _until_type(ws, "error")
            assert error["status"] == 501  # still open afterwards
            await ws.send_json({"type": "text", "text": "ajuda"})
            assert (await _until_type(ws, "result"))["intent"]["name"] == "help"
            await ws.close()
        assert station.config.station_id


async def test_refusals(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        dani = await _user(server, http, "dani")
        status, body = await dani.call("POST", VOICE, {"audio": base64.b64encode(
            b"RIFF....WAVE").decode(), "format": "wav"})
        assert status == 501 and "speech-to-text" in body["detail"]
        status, body = await dani.call("POST", VOICE, {"text": "x", "audio": "AAAA"})
        assert status == 422
        status, body = await dani.call("POST", VOICE, {"audio": "not base64!"})
        assert status == 422
        for text in ("saldo\u0000", "   ", "x" * 501):
            status, body = await dani.call("POST", VOICE, {"text": text})
            assert status == 422, body
        async with http.post(server.http + VOICE, json={"text": "saldo"}) as response:
            assert response.status == 401
        bad = await http.ws_connect(server.http.replace("http", "ws") + "/ws/voice")
        await bad.send_json({"type": "auth", "token": "forged"})
        error = msgspec.json.decode(await bad.receive_bytes(timeout=10))
        assert error["type"] == "error" and error["status"] == 401
        closed = await bad.receive(timeout=10)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert bad.close_code == 4401
        status, body = await dani.call("POST", VOICE, {"text": "qual é o meu saldo"})
        assert status == 200 and body["reply"] == "O seu saldo é R$ 0,00."
        status, body = await dani.call("POST", VOICE, {"text": "coloca cinquenta reais"})
        assert body["outcome"] == "awaiting_confirmation" and "R$ 50,00" in body["reply"]
        status, body = await dani.call("POST", VOICE, {"text": "sim"})
        assert body["outcome"] == "done" and body["result"]["pix"]["copyPaste"], body
        assert body["result"]["amountCentavos"] == 5000 and body["result"]["method"] == "pix"
