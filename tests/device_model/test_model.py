"""Pure device-model rows and rules: keys, Get/Set results, part completeness, event alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sigec_actors.alerts.model import Severity
from sigec_actors.device_model import model
from sigec_actors.device_model.rules import EventAlertRules, event_alert
from sigec_actors.ocpp.generated import v201 as m

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVSE = m.Component(name="EVSE", instance="main", evse=m.EVSE(id=1, connector_id=2))
TEMP = m.Variable(name="Temperature", instance="inlet")


def test_key_names_every_part() -> None:
    assert model.key_of(EVSE, TEMP, "Target") == "EVSE[main]@1.2/Temperature[inlet]:Target"
    assert model.key_of(m.Component(name="X"), m.Variable(name="Y"), "Actual") == "X/Y:Actual"


def test_set_rows_keep_accepted_and_flag_reboot() -> None:
    asked = [m.SetVariableData(attribute_value=v, component=m.Component(name="C"),
                               variable=m.Variable(name=n))
             for n, v in (("A", "1"), ("B", "2"), ("R", "3"))]
    status = m.SetVariableStatusEnum
    results = [m.SetVariableResult(attribute_status=s, component=d.component,
                                   variable=d.variable)
               for s, d in zip((status.ACCEPTED, status.REJECTED, status.REBOOT_REQUIRED),
                               asked, strict=True)]
    rows = model.set_rows(asked, results)
    assert [(r.variable, r.value, r.reboot_required) for r in rows] == [
        ("A", "1", False), ("R", "3", True)]


def test_got_rows_only_accepted() -> None:
    results = [m.GetVariableResult(attribute_status=m.GetVariableStatusEnum.ACCEPTED,
                                   attribute_value="7", component=EVSE, variable=TEMP),
               m.GetVariableResult(attribute_status=m.GetVariableStatusEnum.UNKNOWN_VARIABLE,
                                   component=EVSE, variable=m.Variable(name="Nope"))]
    [row] = model.got_rows(results)
    assert (row.evse_id, row.connector_id, row.value) == (1, 2, "7")


def test_set_monitor_rows_match_results_answered_in_another_order() -> None:
    def data(name: str, value: float) -> m.SetMonitoringData:
        return m.SetMonitoringData(value=value, type=m.MonitorEnum.UPPER_THRESHOLD, severity=3,
                                   component=EVSE, variable=m.Variable(name=name))

    asked = [data("A", 1.0), data("B", 2.0)]
    results = [m.SetMonitoringResult(id=n, status=m.SetMonitoringStatusEnum.ACCEPTED,
                                     type=d.type, severity=d.severity, component=d.component,
                                     variable=d.variable)
               for n, d in ((7, asked[1]), (8, asked[0]), (9, data("C", 0.0)))]
    rows = model.set_monitor_rows(results, asked)
    assert [(r.id, r.variable, r.value) for r in rows] == [(7, "B", 2.0), (8, "A", 1.0)]


@pytest.mark.parametrize(("parts", "done"), [
    ([], False), ([(0, False)], True), ([(0, True)], False), ([(0, True), (1, False)], True),
    ([(1, False)], False), ([(0, True), (2, False)], False), ([(1, False), (0, True)], True),
])
def test_complete_needs_every_part_and_a_last_one(parts: list[tuple[int, bool]],
                                                  done: bool) -> None:
    assert model.complete(parts) is done


def _event(severity: int | None, component: str = "EVSE",
           cleared: bool | None = None) -> model.EventRow:
    return model.EventRow(
        generated_at=T0, seq_no=0, event_id=1, occurred_at=T0, trigger="Alerting",
        notification_type="CustomMonitor", component=component, variable="Temperature",
        evse_id=1, actual_value="91", cleared=cleared, variable_monitoring_id=5, data={},
        severity=severity)


@pytest.mark.parametrize(("severity", "component", "cleared", "expected"), [
    (0, "EVSE", None, Severity.CRITICAL), (2, "EVSE", False, Severity.CRITICAL),
    (3, "EVSE", None, None), (None, "EVSE", None, None),
    (None, "TamperCtrlr", None, Severity.WARNING), (7, "TamperCtrlr", None, Severity.INFO),
    (4, "TamperCtrlr", None, Severity.WARNING), (1, "EVSE", True, None),
])
def test_event_alert_rules(severity: int | None, component: str, cleared: bool | None,
                           expected: Severity | None) -> None:
    rules = EventAlertRules(max_severity=2, components=frozenset({"TamperCtrlr"}))
    alert = event_alert("CP-1", _event(severity, component, cleared), rules)
    assert (alert.severity if alert else None) is expected
    if alert is not None:
        assert alert.dedupe_key == f"device_event:CP-1:{component}/Temperature@1"


def test_severity_rule_can_be_disabled() -> None:
    assert event_alert("CP-1", _event(0), EventAlertRules(max_severity=-1)) is None
