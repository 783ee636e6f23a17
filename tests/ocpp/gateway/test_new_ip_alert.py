"""S4: a profile-2/3 session replaced from another address opens a session_new_ip alert;
the alert never holds up or fails the new session. Real sockets; the client binds 127.0.0.2."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic

from sigec_actors.alerts.model import NewAlert, Opened, Severity
from sigec_actors.alerts.ports import Alerts
from sigec_actors.alerts.rules import new_ip_alert
from sigec_actors.ocpp.gateway import OcppGateway
from sigec_actors.testing import InMemoryAlerts, InMemoryStations, MemoryCache
from tests.ocpp.gateway.conftest import (
    OCPP,
    PASSWORD,
    CountingPasswords,
    Harness,
    Pki,
    RecordingSessions,
    settings,
    wait_for,
)


class HeldAlerts(InMemoryAlerts):
    """Alerts whose `open` waits until `release` is set (a database that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def open(self, new: NewAlert) -> Opened:
        await self.release.wait()
        return await super().open(new)


@pytest.fixture
async def start(pki: Pki) -> AsyncIterator[Any]:
    gateways: list[OcppGateway] = []

    async def make(alerts: Alerts) -> Harness:
        stations = InMemoryStations()
        sessions = RecordingSessions()
        passwords = CountingPasswords()
        gateway = OcppGateway(
            settings(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key)), stations,
            passwords, MemoryCache(), sessions, tune_gc=False, alerts=alerts)
        gateways.append(gateway)
        port = await gateway.start("127.0.0.1", 0)
        tls_port = await gateway.start("127.0.0.1", 0, tls=True)
        h = Harness(gateway, port, tls_port, stations, sessions, passwords)
        await h.add("CP-1", 1)
        await h.add("CP-2", 2)
        return h

    yield make
    for gateway in gateways:
        await gateway.stop()


async def _open(h: Harness, pki: Pki, station: str, source: str) -> ClientConnection:
    """Connect `station` from the loopback address `source` (wss:// for profile 2)."""
    headers = {"Authorization": build_authorization_basic(station, PASSWORD)}
    before = len(h.sessions.for_station(station))
    if station == "CP-2":
        context = ssl.create_default_context(cafile=str(pki.ca))
        ws = await connect(f"wss://127.0.0.1:{h.tls_port}/ocpp/{station}", ssl=context,
                           subprotocols=[OCPP], additional_headers=headers,
                           local_addr=(source, 0))
    else:
        ws = await connect(f"ws://127.0.0.1:{h.port}/ocpp/{station}", subprotocols=[OCPP],
                           additional_headers=headers, local_addr=(source, 0))
    await wait_for(lambda: len(h.sessions.for_station(station)) == before + 1)
    return ws


async def _echoes(ws: ClientConnection) -> None:
    await ws.send("still here")
    assert await asyncio.wait_for(ws.recv(), 5) == "still here"


def test_rule_needs_a_tls_profile_and_another_address() -> None:
    assert new_ip_alert("CP", 2, "127.0.0.1:5000", "127.0.0.1:6000") is None
    assert new_ip_alert("CP", 1, "127.0.0.1:5000", "127.0.0.2:6000") is None
    assert new_ip_alert("CP", 0, "127.0.0.1:5000", "127.0.0.2:6000") is None
    alert = new_ip_alert("CP", 3, "[::1]:5000", "[2001:db8::7]:6000")
    assert alert is not None and alert.details == {
        "oldIp": "::1", "newIp": "2001:db8::7", "securityProfile": 3}
    assert alert.severity is Severity.WARNING and alert.dedupe_key == "session_new_ip:CP:2001:db8::7"


async def test_profile_2_replaced_from_a_new_address_alerts(start: Any, pki: Pki) -> None:
    alerts = InMemoryAlerts()
    h = await start(alerts)
    first = await _open(h, pki, "CP-2", "127.0.0.1")
    second = await _open(h, pki, "CP-2", "127.0.0.2")
    await _echoes(second)
    await wait_for(lambda: len(alerts.alerts) == 1)
    [alert] = alerts.alerts
    assert (alert.kind, alert.severity, alert.charge_point_id) == (
        "session_new_ip", Severity.WARNING, "CP-2")
    assert alert.details == {"oldIp": "127.0.0.1", "newIp": "127.0.0.2", "securityProfile": 2}
    await first.wait_closed()
    assert first.close_code == 1000

    third = await _open(h, pki, "CP-2", "127.0.0.2")  # same address again: no alert
    fourth = await _open(h, pki, "CP-2", "127.0.0.1")  # back to the first: alerts again
    await _echoes(fourth)
    await wait_for(lambda: len(alerts.alerts) == 2)
    assert [a.details["newIp"] for a in alerts.alerts] == ["127.0.0.2", "127.0.0.1"]
    for ws in (second, third, fourth):
        await ws.close()


async def test_profile_1_replaced_from_a_new_address_only_logs(start: Any, pki: Pki) -> None:
    alerts = InMemoryAlerts()
    h = await start(alerts)
    with capture_logs() as logs:
        first = await _open(h, pki, "CP-1", "127.0.0.1")
        second = await _open(h, pki, "CP-1", "127.0.0.2")
        await _echoes(second)
    replaced = [e for e in logs if e["event"] == "ocpp_session_replaced"]
    assert [e["log_level"] for e in replaced] == ["warning"]
    assert alerts.alerts == []
    await first.close()
    await second.close()


async def test_a_failing_alert_store_is_logged_and_the_session_lives(start: Any,
                                                                      pki: Pki) -> None:
    alerts = InMemoryAlerts(fail_with=ConnectionRefusedError("database down"))
    h = await start(alerts)
    with capture_logs() as logs:
        first = await _open(h, pki, "CP-2", "127.0.0.1")
        second = await _open(h, pki, "CP-2", "127.0.0.2")
        await _echoes(second)
        await wait_for(lambda: any(e["event"] == "ocpp_alert_failed" for e in logs))
    failed = next(e for e in logs if e["event"] == "ocpp_alert_failed")
    assert failed["station_id"] == "CP-2" and "database down" in failed["error"]
    assert h.gateway.is_connected("CP-2")
    await first.close()
    await second.close()


async def test_a_hanging_alert_store_does_not_hold_up_the_new_session(start: Any,
                                                                       pki: Pki) -> None:
    alerts = HeldAlerts()
    h = await start(alerts)
    first = await _open(h, pki, "CP-2", "127.0.0.1")
    second = await _open(h, pki, "CP-2", "127.0.0.2")
    await _echoes(second)  # while the alert is still being written
    assert alerts.alerts == []
    alerts.release.set()
    await wait_for(lambda: len(alerts.alerts) == 1)
    await first.close()
    await second.close()
