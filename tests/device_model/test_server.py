"""Device model, logs, monitoring, events and customer information through one real server
(`sigec serve`), with the `ocpp` package's v201 ChargePoint as the station."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from ocpp.v201 import call

from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from tests.device_model.station import REBOOT, Station, connected, now
from tests.helpers.server import Api, ServerProcess, server_env

MAX_UPLOAD = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
           nats_url: str) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("device-model")
    proc = ServerProcess(tmp / "data", server_env(
        tmp / "data", DATABASE_URL=pg_dsn, NATS_URL=nats_url,
        SIGEC_DEVICE_MODEL__LOG_UPLOAD_MAX_BYTES=str(MAX_UPLOAD),
        SIGEC_DEVICE_MODEL__FULL_INVENTORY_ON_FIRST_BOOT="true",  # off in server_env
        SIGEC_DEVICE_MODEL__EVENT_ALERT_COMPONENTS="TamperCtrlr"), tmp / "server.log")
    proc.start()
    yield proc
    proc.kill()


async def eventually(probe: Callable[[], Awaitable[Any]], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("not within the timeout")


@asynccontextmanager
async def station_and_admin(server: ServerProcess) -> AsyncIterator[tuple[Station, Api, str]]:
    station_id = f"CP-DM-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        admin = Api(server.http, http)
        await admin.login()
        password = await admin.add_station(station_id)
        async with connected(server.ocpp, station_id, password) as station:
            assert (await station.boot()).status == "Accepted"
            yield station, admin, f"/api/v1/devices/{station_id}"


async def complete_report(api: Api, path: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        status, body = await api.call("GET", path)
        return body if status == 200 and body["complete"] else None
    found: dict[str, Any] = await eventually(probe)
    return found


async def test_first_boot_inventory_reports_and_variables(server: ServerProcess) -> None:
    async with station_and_admin(server) as (station, api, base):
        await eventually(lambda: asyncio.sleep(0, station.asked["GetBaseReport"]))
        [first] = station.asked["GetBaseReport"]
        assert first["base"] == "FullInventory"
        report = await complete_report(api, f"{base}/reports/{first['request_id']}")
        assert report["status"] == "Accepted" and [p["seqNo"] for p in report["parts"]] == [0, 1]
        status, rows = await api.call("GET", f"{base}/variables")
        assert status == 200, rows
        assert {(r["component"], r["variable"], r["value"]) for r in rows} == {
            (c, v, value) for (c, v), value in station.variables.items()}
        assert all(r["mutability"] == "ReadWrite" and r["characteristics"]["dataType"] == "string"
                   for r in rows)
        status, only = await api.call("GET", f"{base}/variables?variable=HeartbeatInterval")
        assert [r["key"] for r in only] == ["OCPPCommCtrlr/HeartbeatInterval:Actual"]

        # asked again: the same station rebooting is not sent another FullInventory
        await station.boot()
        status, asked = await api.call("POST", f"{base}/reports", {"criteria": ["Active"]})
        assert status == 202 and asked["status"] == "Accepted", asked
        report = await complete_report(api, f"{base}/reports/{asked['requestId']}")
        assert report["params"]["componentCriteria"] == ["Active"]
        assert len(station.asked["GetBaseReport"]) == 1
        status, base_report = await api.call("POST", f"{base}/reports",
                                             {"type": "SummaryInventory"})
        assert status == 202 and station.asked["GetBaseReport"][1] == {
            "request_id": base_report["requestId"], "base": "SummaryInventory"}
        await complete_report(api, f"{base}/reports/{base_report['requestId']}")
        # a FullInventory replaces the stored model: a variable the station dropped is gone
        del station.variables[("SecurityCtrlr", "Identity")]
        status, full = await api.call("POST", f"{base}/reports", {"type": "FullInventory"})
        await complete_report(api, f"{base}/reports/{full['requestId']}")
        status, rows = await api.call("GET", f"{base}/variables")
        assert {r["variable"] for r in rows} == {"HeartbeatInterval", REBOOT}
        status, both = await api.call("POST", f"{base}/reports",
                                      {"type": "FullInventory", "criteria": ["Active"]})
        assert status == 422 and both["field"] == "type"
        assert (await api.call("GET", f"{base}/reports/999999999"))[0] == 404
        assert (await api.call("GET", "/api/v1/devices/NOPE/variables"))[0] == 404


async def test_get_and_set_variables_update_the_store(server: ServerProcess) -> None:
    async with station_and_admin(server) as (station, api, base):
        station.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = "120"
        items = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name}}
                 for name in ("HeartbeatInterval", "Nope")]
        status, got = await api.call("POST", f"{base}/variables/get", {"items": items})
        assert status == 200, got
        assert [r["attributeStatus"] for r in got["results"]] == ["Accepted", "UnknownVariable"]
        status, rows = await api.call("GET", f"{base}/variables?variable=HeartbeatInterval")
        assert [r["value"] for r in rows] == ["120"]

        sets = [{**items[0], "value": "60"},
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": REBOOT},
                 "value": "1"}]
        status, again = await api.call("POST", f"{base}/variables/get", {"items": sets})
        assert [r["attributeValue"] for r in again["results"]] == ["120", "0"]  # value unused
        status, done = await api.call("POST", f"{base}/variables/set", {"items": sets})
        assert status == 200 and done["rebootRequired"] is True, done
        status, rows = await api.call("GET", f"{base}/variables?component=OCPPCommCtrlr")
        stored = {r["variable"]: (r["value"], r["rebootRequired"]) for r in rows}
        assert stored["HeartbeatInterval"] == ("60", False)
        assert stored[REBOOT] == ("1", True)
        status, bad = await api.call("POST", f"{base}/variables/set", {"items": [items[0]]})
        assert status == 422 and bad["field"].endswith("value"), bad


async def test_log_upload_once_with_status_history(server: ServerProcess) -> None:
    async with station_and_admin(server) as (station, api, base):
        status, asked = await api.call("POST", f"{base}/logs", {"logType": "DiagnosticsLog"})
        assert status == 202 and asked["filename"] == "diagnostics.log", asked
        [log] = station.asked["GetLog"]
        url = log["remote_location"]
        assert url.startswith(server.http) and log["request_id"] == asked["requestId"]
        await station.call(call.LogStatusNotification(status="Uploading",
                                                      request_id=asked["requestId"]))
        async with aiohttp.ClientSession() as http:
            async with http.put(url, data=b"line 1\nline 2\n") as resp:
                assert resp.status == 201, await resp.text()
            async with http.put(url, data=b"again") as resp:  # one-time
                assert resp.status == 404
        await station.call(call.LogStatusNotification(status="Uploaded",
                                                      request_id=asked["requestId"]))
        status, logs = await api.call("GET", f"{base}/logs")
        [entry] = logs
        assert [h["status"] for h in entry["history"]] == ["Uploading", "Uploaded"]
        assert entry["sizeBytes"] == 14 and entry["status"] == "Accepted"
        async with aiohttp.ClientSession() as http:
            async with http.get(server.http + entry["downloadUrl"], headers={
                    "Authorization": f"Bearer {api.token}"}) as resp:
                assert resp.status == 200 and await resp.read() == b"line 1\nline 2\n"
            async with http.get(server.http + entry["downloadUrl"]) as resp:
                assert resp.status == 401

        # too large: 413 and the slot stays usable; a multipart POST is taken too
        status, second = await api.call("POST", f"{base}/logs", {"logType": "SecurityLog"})
        url = station.asked["GetLog"][-1]["remote_location"]
        async with aiohttp.ClientSession() as http:
            async with http.put(url, data=b"x" * (MAX_UPLOAD + 1)) as resp:
                assert resp.status == 413
            form = aiohttp.FormData()
            form.add_field("file", b"secure", filename="security.log")
            async with http.post(url, data=form) as resp:
                assert resp.status == 201, await resp.text()
        status, logs = await api.call("GET", f"{base}/logs")
        assert next((e["requestId"], e["sizeBytes"]) for e in logs) == (second["requestId"], 6)


async def test_monitoring_events_and_alerts(server: ServerProcess) -> None:
    async with station_and_admin(server) as (station, api, base):
        monitor = {"value": 80.0, "type": "UpperThreshold", "severity": 1,
                   "component": {"name": "EVSE", "evse": {"id": 1}},
                   "variable": {"name": "Temperature"}}
        status, set_ = await api.call("POST", f"{base}/monitoring", {"items": [monitor]})
        assert status == 200 and set_["results"][0]["status"] == "Accepted", set_
        monitor_id = set_["results"][0]["id"]
        status, stored = await api.call("GET", f"{base}/monitoring")
        assert [(m["id"], m["severity"], m["evseId"]) for m in stored] == [(monitor_id, 1, 1)]
        assert (await api.call("POST", f"{base}/monitoring",
                               {"items": [{**monitor, "severity": 10}]}))[0] == 422

        event = {"event_id": 1, "timestamp": now(), "trigger": "Alerting",
                 "actual_value": "91", "event_notification_type": "CustomMonitor",
                 "component": {"name": "EVSE", "evse": {"id": 1}},
                 "variable": {"name": "Temperature"}, "variable_monitoring_id": monitor_id}
        quiet = {**event, "event_id": 2, "variable_monitoring_id": None,
                 "component": {"name": "Connector"}, "variable": {"name": "Problem"}}
        tamper = {**quiet, "event_id": 3, "component": {"name": "TamperCtrlr"},
                  "variable": {"name": "Tampered"}, "event_notification_type":
                  "HardWiredNotification", "actual_value": "true"}
        notify = call.NotifyEvent(generated_at=now(), seq_no=0,
                                  event_data=[event, quiet, tamper])
        await station.call(notify, suppress=False)
        await station.call(notify, suppress=False)  # a retry stores nothing twice
        status, page = await api.call("GET", f"{base}/events?limit=2")
        assert status == 200 and page["total"] == 3 and len(page["items"]) == 2, page
        by_id = {e["eventId"]: e for e in (await api.call(
            "GET", f"{base}/events?limit=10"))[1]["items"]}
        assert by_id[1]["severity"] == 1 and by_id[2]["severity"] is None
        status, alerts = await api.call(
            "GET", f"/api/v1/admin/alerts?kind=device_event&chargePointId={station.id}")
        assert status == 200, alerts
        found = sorted((a["severity"], a["details"]["component"]) for a in alerts["items"])
        assert found == [("critical", "EVSE"), ("warning", "TamperCtrlr")]

        status, report = await api.call("POST", f"{base}/monitoring/report", {})
        assert status == 202, report
        parts = await complete_report(api, f"{base}/monitoring/reports/{report['requestId']}")
        assert parts["parts"][0]["data"][0]["variableMonitoring"][0]["id"] == monitor_id
        for path, body, asked in (("base", {"monitoringBase": "FactoryDefault"},
                                   "SetMonitoringBase"),
                                  ("level", {"severity": 4}, "SetMonitoringLevel")):
            status, answer = await api.call("PUT", f"{base}/monitoring/{path}", body)
            assert status == 200 and answer["status"] == "Accepted"
            assert len(station.asked[asked]) == 1
        station.monitors.clear()  # lost on the station: an unfiltered report drops it here
        status, report = await api.call("POST", f"{base}/monitoring/report", {})
        await complete_report(api, f"{base}/monitoring/reports/{report['requestId']}")
        assert (await api.call("GET", f"{base}/monitoring"))[1] == []
        station.monitors[monitor_id] = {**monitor, "transaction": False}
        status, cleared = await api.call("DELETE", f"{base}/monitoring?ids={monitor_id},7")
        assert [r["status"] for r in cleared["results"]] == ["Accepted", "NotFound"]
        assert (await api.call("DELETE", f"{base}/monitoring?ids=x"))[0] == 422


async def test_customer_information_admin_only(server: ServerProcess) -> None:
    async with station_and_admin(server) as (station, api, base):
        body = {"report": True, "clear": False,
                "idToken": {"idToken": "RFID-1", "type": "ISO14443"}}
        status, asked = await api.call("POST", f"{base}/customer-information", body)
        assert status == 202 and asked["status"] == "Accepted", asked
        info = await complete_report(api, f"{base}/customer-information/{asked['requestId']}")
        assert info["data"] == "card RFID-1 used 3 times; last 2026-01-02"
        assert station.asked["CustomerInformation"][0]["id_token"]["id_token"] == "RFID-1"
        status, bad = await api.call("POST", f"{base}/customer-information",
                                     {**body, "customerIdentifier": "c-1"})
        assert status == 422 and bad["field"] == "idToken", bad


async def test_our_simulator_uploads_its_log_and_keeps_monitors(server: ServerProcess) -> None:
    """The same routes against `python -m sigec_actors.simulator`'s station."""
    station_id = f"CP-SIM-{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession() as http:
        api = Api(server.http, http)
        await api.login()
        password = await api.add_station(station_id)
        base = f"/api/v1/devices/{station_id}"
        async with await SimulatedStation.connect(
                server.ocpp, SimConfig(station_id), password=password) as sim:
            assert (await sim.boot()).status == "Accepted"

            async def inventory() -> list[Any] | None:  # the first boot's FullInventory
                rows = (await api.call("GET", f"{base}/variables"))[1]
                return rows if len(rows) == len(sim.config.variables) else None
            assert {r["key"] for r in await eventually(inventory)} == {
                f"{key}:Actual" for key in sim.config.variables}

            status, asked = await api.call("POST", f"{base}/logs", {"logType": "DiagnosticsLog"})
            assert status == 202 and asked["filename"] == "sim.log", asked

            async def uploaded() -> dict[str, Any] | None:
                [entry] = (await api.call("GET", f"{base}/logs"))[1]
                return entry if [h["status"] for h in entry["history"]] == [
                    "Uploading", "Uploaded"] else None
            entry = await eventually(uploaded)
            async with http.get(server.http + entry["downloadUrl"], headers={
                    "Authorization": f"Bearer {api.token}"}) as resp:
                assert b"simulated diagnostics log" in await resp.read()

            monitor = {"value": 1.0, "type": "Delta", "severity": 5,
                       "component": {"name": "EVSE"}, "variable": {"name": "Power"}}
            status, set_ = await api.call("POST", f"{base}/monitoring", {"items": [monitor]})
            assert status == 200 and set_["results"][0]["status"] == "Accepted", set_
            status, report = await api.call("POST", f"{base}/monitoring/report", {})
            parts = await complete_report(
                api, f"{base}/monitoring/reports/{report['requestId']}")
            assert parts["parts"][0]["items"] == 1
