"""S7: every SecurityEventNotification is accepted and audited; critical types open an alert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sigec_actors.alerts.model import AlertFilter, AlertStatus, Severity
from sigec_actors.alerts.rules import security_event_alert
from sigec_actors.charge_point.effects import Log, Persist, WriteAlert, WriteAudit
from sigec_actors.charge_point.inbound import CRITICAL_SECURITY_EVENTS, on_call
from sigec_actors.charge_point.messages import StationCall
from sigec_actors.charge_point.model import BootStatus, ChargePointState
from sigec_actors.charge_point.sessions import Session
from sigec_actors.domain.events import ALERT_OPENED
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp.generated.v201 import ACTIONS
from sigec_actors.ocpp.rpc import Call
from sigec_actors.testing.ocpp import ChargePointHarness, FakeLink
from tests.charge_point.conftest import BOOT, T0

NOT_CRITICAL = (
    "FailedToAuthenticateAtCsms", "CsmsFailedToAuthenticate", "InvalidMessages",
    "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate", "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate", "InvalidTLSVersion", "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted", "MaintenanceLoginFailed",
)
"""The other SecurityEvent types of OCPP 2.0.1 Part 2 Appendix 1 (not marked critical)."""
EVERY_TYPE = sorted(CRITICAL_SECURITY_EVENTS) + list(NOT_CRITICAL)


async def _booted(h: ChargePointHarness, station: str = "CP-1") -> tuple[FakeLink, Session]:
    await h.register(station)
    link, sink = await h.connect(station)
    assert (await h.call(sink, link, "BootNotification", BOOT))[2]["status"] == "Accepted"
    return link, sink


def _event(kind: str, tech_info: str | None = None) -> dict[str, object]:
    payload: dict[str, object] = {"type": kind, "timestamp": T0}
    if tech_info is not None:
        payload["techInfo"] = tech_info
    return payload


def test_critical_type_persists_the_alert_before_the_audited_reply() -> None:
    state = ChargePointState(station_id="CP-1", boot=BootStatus.ACCEPTED, registered=True)
    request = m.SecurityEventNotificationRequest(
        type="TamperDetectionActivated", timestamp=datetime(2025, 1, 1, tzinfo=UTC),
        tech_info="lid opened")
    spec = ACTIONS["SecurityEventNotification"]
    now = datetime(2025, 1, 1, 0, 0, 5, tzinfo=UTC)
    _, effects = on_call(state, StationCall(object(), Call("m1", spec.name, request, spec)),
                         now)
    persisted = [e for e in effects if isinstance(e, Persist)]
    assert [type(p.write) for p in persisted] == [WriteAlert, WriteAudit]
    alert_write, audit_write = persisted
    assert not alert_write.required and alert_write.reply is None
    assert not audit_write.required and audit_write.reply is not None  # always accepted
    assert isinstance(alert_write.write, WriteAlert)
    assert alert_write.write.alert == security_event_alert(
        "CP-1", "TamperDetectionActivated", request.timestamp, "lid opened")
    assert any(isinstance(e, Log) for e in effects)


@pytest.mark.parametrize("kind", EVERY_TYPE)
async def test_every_spec_type_is_accepted_and_audited_critical_ones_alert(
        harness: ChargePointHarness, kind: str) -> None:
    link, sink = await _booted(harness)
    answer = await harness.call(sink, link, "SecurityEventNotification", _event(kind, "x"))
    assert answer[0] == 3 and answer[2] == {}
    [record] = harness.fakes.audit.records
    assert record.entry.details["type"] == kind
    alerts = harness.fakes.alerts.alerts
    if kind not in CRITICAL_SECURITY_EVENTS:
        assert alerts == []
        return
    [alert] = alerts
    assert (alert.kind, alert.severity, alert.charge_point_id) == (
        "security_event", Severity.CRITICAL, "CP-1")
    assert alert.details == {"type": kind, "timestamp": "2025-01-01T00:00:00+00:00",
                             "techInfo": "x"}
    assert harness.fakes.outbox.subjects().count(ALERT_OPENED) == 1


async def test_one_open_alert_per_station_and_type(harness: ChargePointHarness) -> None:
    link, sink = await _booted(harness)
    link2, sink2 = await _booted(harness, "CP-2")
    for _ in range(3):
        await harness.call(sink, link, "SecurityEventNotification",
                           _event("TamperDetectionActivated"))
    await harness.call(sink, link, "SecurityEventNotification", _event("MemoryExhaustion"))
    await harness.call(sink2, link2, "SecurityEventNotification",
                       _event("TamperDetectionActivated"))
    page = await harness.fakes.alerts.page(AlertFilter(status=AlertStatus.OPEN))
    assert sorted((a.charge_point_id, a.details["type"]) for a in page.items) == [
        ("CP-1", "MemoryExhaustion"), ("CP-1", "TamperDetectionActivated"),
        ("CP-2", "TamperDetectionActivated")]
    assert len(harness.fakes.audit.records) == 5  # every event is audited all the same


async def test_alert_storage_down_still_answers_and_audits(harness: ChargePointHarness) -> None:
    link, sink = await _booted(harness)
    harness.fakes.alerts.fail_with = ConnectionRefusedError("alerts down")
    answer = await harness.call(sink, link, "SecurityEventNotification",
                                _event("AttemptedReplayAttacks"))
    assert answer[0] == 3
    assert harness.fakes.audit.records[-1].entry.details["critical"] is True
    harness.fakes.alerts.fail_with = None
    assert harness.fakes.alerts.alerts == []
