"""Issue 18 from outside: a station built on the `ocpp` package's v201 ChargePoint talks to a real
`sigec serve` (PostgreSQL, NATS). Each of the 25 station -> CSMS messages gets a schema-valid
CALLRESULT (the ocpp client validates it); the OCPP-block REST routes reach the station and
store what they must; an over-long message id is never echoed into a CALLERROR."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import websockets
from ocpp.exceptions import OCPPError
from ocpp.v201 import call

from sigec_actors.charge_point.model import COMMANDS
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.helpers.server import Api, ServerProcess, server_env
from tests.ocpp_blocks.csms_calls import CSMS_CALLS
from tests.ocpp_blocks.ocpp_station import OcppStation, connect
from tests.ocpp_blocks.station_calls import BOOT, STATION_CALLS, STATION_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")
DEV = f"/api/v1/devices/{STATION_ID}"

@dataclass
class World:
    server: ServerProcess
    api: Api
    station: OcppStation
    dsn: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("ocpp-blocks")
    # One station sends ~90 CALLs and answers here in a few seconds: the per-station budget
    # (S8: 20/s, burst 50) is for floods, not for this test.
    proc = ServerProcess(root / "data", server_env(
        root / "data", DATABASE_URL=pg_dsn, NATS_URL=nats_url,
        SIGEC_OCPP__STATION_CALL_BURST="1000"), root / "server.log")
    proc.start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(server: ServerProcess, pg_dsn: str) -> AsyncIterator[World]:
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(STATION_ID, 1)
        station, task = await connect(server.ocpp, STATION_ID, password)
        assert (await station.call(call.BootNotification(**BOOT))).status == "Accepted"
        yield World(server, api, station, pg_dsn)
        task.cancel()
        await station._connection.close()


@pytest.mark.parametrize("action", sorted(STATION_CALLS))
async def test_every_station_message_gets_a_schema_valid_answer(world: World,
                                                                action: str) -> None:
    try:  # the ocpp client validates a CALLRESULT against the official schema
        answer = await world.station.call(STATION_CALLS[action](), suppress=False)
    except OCPPError as exc:
        pytest.fail(f"{action} answered CALLERROR {type(exc).__name__}: {exc}")
    assert answer is not None
    expected = {"BootNotification": ("status", "Accepted"),
                "DataTransfer": ("status", "UnknownVendorId"),  # no handler for that vendor
                "Authorize": ("id_token_info", {"status": "Unknown"}),  # not a known token
                "SignCertificate": ("status", "Accepted")}.get(action)  # a real CSR
    if expected is not None:
        assert getattr(answer, expected[0]) == expected[1], answer


async def _ok(api: Api, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    got, answer = await api.call(method, path, body)
    assert got == status, (method, path, got, answer)
    return answer


async def test_local_list_cache_and_network_profile_reach_the_station(world: World) -> None:
    api, station = world.api, world.station
    await _ok(api, "POST", "/api/v1/users/me/id-tokens", {"idToken": "E2E-LIST-1",
                                                          "type": "ISO14443"}, 201)
    full = await _ok(api, "POST", f"{DEV}/local-list")
    assert (full["status"], full["versionNumber"]) == ("Accepted", 1) and full["size"] >= 1
    sent = [p for a, p in station.received if a == "SendLocalList"][-1]
    assert "E2E-LIST-1" in json.dumps(sent["local_authorization_list"])
    version = await _ok(api, "GET", f"{DEV}/local-list")
    assert (version["version"], version["storedVersion"]) == (1, 1)
    # the station's answer carries a property the schema does not define: still a success
    assert await _ok(api, "POST", f"{DEV}/clear-cache") == {"status": "Accepted"}
    profile = {"configurationSlot": 2, "connectionData": {
        "ocppVersion": "OCPP20", "ocppTransport": "JSON",
        "ocppCsmsUrl": "wss://csms.example/ocpp", "messageTimeout": 30, "securityProfile": 3,
        "ocppInterface": "Wired0"}}
    assert (await _ok(api, "POST", f"{DEV}/network-profile", profile))["status"] == "Accepted"
    transfer = await _ok(api, "POST", f"{DEV}/data-transfer",
                         {"vendorId": "com.acme", "data": {"ping": 1}})
    assert transfer == {"status": "Accepted", "data": {"echo": {"ping": 1}}}


async def test_display_messages_set_listed_from_the_stations_report_and_cleared(
        world: World) -> None:
    api = world.api
    body = {"id": 11, "priority": "InFront",
            "message": {"format": "UTF8", "content": "Tarifa: R$ 1,50/kWh", "language": "pt"}}
    assert await _ok(api, "POST", f"{DEV}/display-messages", body) == {"id": 11,
                                                                       "status": "Accepted"}
    listed = await _ok(api, "GET", f"{DEV}/display-messages?waitS=10")
    assert (listed["status"], listed["complete"]) == ("Accepted", True)
    assert [(m["id"], m["source"]) for m in listed["messages"]] == [(11, "reported")]
    assert await _ok(api, "DELETE", f"{DEV}/display-messages/11") == {"status": "Accepted"}
    assert (await _ok(api, "GET", f"{DEV}/display-messages?cached=true"))["messages"] == []


async def test_any_action_is_sent_audited_and_answered(world: World) -> None:
    api = world.api
    answer = await _ok(api, "POST", f"{DEV}/ocpp/Reset", {"type": "OnIdle"})
    assert answer == {"status": "Scheduled"}
    assert ("Reset", {"type": "OnIdle"}) in world.station.received
    refused = await _ok(api, "POST", f"{DEV}/ocpp/Reset", {"type": "Later"}, 422)
    assert refused["field"] == "type"
    conn = await asyncpg.connect(world.dsn)
    try:
        rows = await conn.fetch("SELECT actor_type, details, host(ip) AS ip FROM audit_log"
                                " WHERE action = 'command.Reset' AND target_id = $1", STATION_ID)
    finally:
        await conn.close()
    assert [(r["actor_type"], r["ip"]) for r in rows] == [("user", "127.0.0.1")]


async def test_meter_values_outside_transactions_are_stored(world: World) -> None:
    await world.station.call(STATION_CALLS["MeterValues"](), suppress=False)
    volts = await _ok(world.api, "GET", f"{DEV}/meter-values?measurand=Voltage")
    assert volts["items"] and volts["items"][-1]["value"] == 231.5
    assert volts["items"][-1]["phase"] == "L1-N"


async def test_an_over_long_message_id_is_not_echoed(world: World) -> None:
    password = await world.api.add_station("E2E-RAW-1", 1)
    token = base64.b64encode(f"E2E-RAW-1:{password}".encode()).decode()
    async with websockets.connect(f"{world.server.ocpp}/E2E-RAW-1",
                                  subprotocols=[websockets.Subprotocol("ocpp2.0.1")],
                                  additional_headers={"Authorization": f"Basic {token}"},
                                  compression=None) as ws:
        await ws.send(json.dumps([2, "x" * 37, "Heartbeat", {}]))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame[:3] == [4, "-1", "RpcFrameworkError"]


async def test_the_simulator_keeps_its_list_and_reports_its_messages(world: World) -> None:
    api, dev = world.api, "/api/v1/devices/E2E-SIM-1"
    password = await api.add_station("E2E-SIM-1", 1)
    async with await SimulatedStation.connect(world.server.ocpp, SimConfig("E2E-SIM-1"),
                                              password=password) as sim:
        assert (await sim.boot()).status == "Accepted"
        tokens = [{"idToken": {"idToken": "SIM-1", "type": "ISO14443"},
                   "idTokenInfo": {"status": "Accepted"}}]
        sent = await _ok(api, "POST", f"{dev}/local-list", {"tokens": tokens})
        assert (sent["status"], sent["size"]) == ("Accepted", 1)
        assert (await _ok(api, "GET", f"{dev}/local-list"))["version"] == 1
        body = {"id": 5, "message": {"format": "UTF8", "content": "Bem-vindo"}}
        assert (await _ok(api, "POST", f"{dev}/display-messages", body))["status"] == "Accepted"
        listed = await _ok(api, "GET", f"{dev}/display-messages?waitS=10")
        assert listed["complete"] and [m["id"] for m in listed["messages"]] == [5]
        profile = {"configurationSlot": 2, "connectionData": {
            "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://x/ocpp",
            "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}}
        assert (await _ok(api, "POST", f"{dev}/network-profile", profile))["status"] == "Accepted"
        assert sim.network_profiles is not None and 2 in sim.network_profiles


async def test_every_csms_action_reaches_the_station_raw(world: World) -> None:
    """Last in the module: the raw payloads change the station's list version and messages."""
    assert set(CSMS_CALLS) == {s.name for s in COMMANDS.values()} and len(CSMS_CALLS) == 40
    wrong = []
    for action, payload in CSMS_CALLS.items():
        status, answer = await world.api.call("POST", f"{DEV}/ocpp/{action}", payload)
        # the ocpp client answers NotImplemented for an action it has no handler for: the
        # CALL reached it and came back (502 with the station's code)
        reached = status == 200 or (status == 502 and "NotImplemented" in answer["detail"])
        if not reached:
            wrong.append(f"{action}: {status} {answer}")
    assert not wrong, "\n".join(wrong)
