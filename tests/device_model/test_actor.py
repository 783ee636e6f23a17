"""The device-model handlers on a ChargePoint actor (in-process harness, in-memory store):
what the core used to answer in memory is stored, and a first boot asks for FullInventory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import asyncpg
import msgspec
import pytest

from sigec_actors.alerts.model import AlertFilter
from sigec_actors.charge_point.commands import send_command
from sigec_actors.device_model.handlers import FirstBootInventory, StationSide
from sigec_actors.device_model.model import RequestKind
from sigec_actors.device_model.rules import EventAlertRules
from sigec_actors.testing.device_model import InMemoryDeviceModel
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.conftest import BOOT, T0
from tests.charge_point.test_inbound import booted

REPORT = {"requestId": 3, "generatedAt": T0, "seqNo": 0, "reportData": [
    {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
     "variableAttribute": [{"type": "Actual", "value": "22000"}]}]}

EVENT = {"generatedAt": T0, "seqNo": 0, "eventData": [{
    "eventId": 1, "timestamp": T0, "trigger": "Alerting", "actualValue": "1",
    "eventNotificationType": "HardWiredNotification", "component": {"name": "TamperCtrlr"},
    "variable": {"name": "Tampered"}}]}


@pytest.fixture
async def harness() -> AsyncIterator[ChargePointHarness]:
    async with ChargePointHarness() as h:
        yield h


async def test_reports_events_and_log_statuses_are_stored(
        harness: ChargePointHarness) -> None:
    store = InMemoryDeviceModel()
    StationSide(store, harness.clock.now, alerts=harness.fakes.alerts,
                rules=EventAlertRules(components=frozenset({"TamperCtrlr"}))
                ).register(harness.deps.handlers)
    link, sink = await booted(harness)
    assert (await harness.call(sink, link, "NotifyReport", REPORT))[2] == {}
    [row] = await store.variables("CP-1", "EVSE", "Power")
    assert row.key == "EVSE@1/Power:Actual" and row.value == "22000"
    view = await harness.sessions.view("CP-1")  # type: ignore[union-attr]
    assert view is not None and view.variables == {"EVSE@1/Power:Actual": "22000"}

    for _ in range(2):  # a retried NotifyEvent: one event, one alert
        assert (await harness.call(sink, link, "NotifyEvent", EVENT))[2] == {}
    assert (await store.events("CP-1", 10, 0))[1] == 1
    alerts = (await harness.fakes.alerts.page(AlertFilter(kind="device_event"))).items
    assert [a.details["component"] for a in alerts] == ["TamperCtrlr"]

    answer = await harness.call(sink, link, "LogStatusNotification",
                                {"status": "Uploaded", "requestId": 2})
    assert answer[0] == 3 and answer[2] == {}  # an unknown request: acknowledged, nothing kept
    assert (await harness.sessions.view("CP-1")).log_status == "Uploaded"  # type: ignore[union-attr]


async def test_first_boot_asks_for_full_inventory_once(harness: ChargePointHarness) -> None:
    store = InMemoryDeviceModel()
    inventory = FirstBootInventory(store, lambda: partial(send_command, harness.sessions),
                                   harness.clock.now, ids=iter(range(40, 50)).__next__)
    inventory.register(harness.deps.handlers)
    link, sink = await booted(harness)
    await harness.settle()
    [asked] = link.calls()
    assert asked[2] == "GetBaseReport"
    assert asked[3] == {"requestId": 40, "reportBase": "FullInventory"}
    await sink.on_frame(msgspec.json.encode([3, asked[1], {"status": "Accepted"}]))
    await harness.settle()
    await inventory.idle()
    view = await store.request("CP-1", RequestKind.REPORT, 40)
    assert view is not None and view.status == "Accepted"

    assert (await harness.call(sink, link, "BootNotification", BOOT))[2]["status"] == "Accepted"
    await harness.settle()
    await inventory.idle()
    assert len(link.calls()) == 1  # not asked again
    await inventory.aclose()


async def test_an_alert_lost_to_an_outage_is_opened_by_the_retry(
        harness: ChargePointHarness) -> None:
    """The events are stored before the alert is opened: the station's retry opens it."""
    harness.fakes.alerts.fail_with = asyncpg.PostgresConnectionError("down")
    StationSide(InMemoryDeviceModel(), harness.clock.now, alerts=harness.fakes.alerts,
                rules=EventAlertRules(components=frozenset({"TamperCtrlr"}))
                ).register(harness.deps.handlers)
    link, sink = await booted(harness)
    first = await harness.call(sink, link, "NotifyEvent", EVENT)
    assert first[0] == 4 and first[2] == "InternalError"
    harness.fakes.alerts.fail_with = None
    assert (await harness.call(sink, link, "NotifyEvent", EVENT))[2] == {}
    assert [a.kind for a in harness.fakes.alerts.alerts] == ["device_event"]
