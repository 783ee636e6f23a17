"""Pure device-model data: rows flattened from OCPP 2.0.1 reports, results and events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from sigec_actors.ocpp.generated import v201 as m


class RequestKind(StrEnum):
    """Requests a station answers with numbered parts, each kind with its own requestId."""

    REPORT = "report"          # GetBaseReport / GetReport -> NotifyReport
    MONITORING = "monitoring"  # GetMonitoringReport -> NotifyMonitoringReport
    CUSTOMER = "customer"      # CustomerInformation -> NotifyCustomerInformation


class VariableRow(msgspec.Struct, frozen=True, kw_only=True):
    """One attribute of one component variable, as stored in `device_variables`."""

    key: str
    component: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable: str
    variable_instance: str | None = None
    attribute_type: str = "Actual"
    value: str | None = None
    mutability: str | None = None
    persistent: bool | None = None
    constant: bool | None = None
    characteristics: dict[str, Any] | None = None
    reboot_required: bool = False
    updated_at: datetime | None = None


class MonitorRow(msgspec.Struct, frozen=True, kw_only=True):
    """One variable monitor on a station (`device_monitors`)."""

    id: int
    component: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable: str
    variable_instance: str | None = None
    type: str
    value: float
    severity: int
    transaction: bool = False


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    """One eventData of a NotifyEvent (`device_events`); `severity` from its monitor if known."""

    generated_at: datetime
    seq_no: int
    event_id: int
    occurred_at: datetime
    trigger: str
    notification_type: str
    component: str
    variable: str
    evse_id: int | None
    actual_value: str
    cleared: bool | None
    variable_monitoring_id: int | None
    data: dict[str, Any]
    severity: int | None = None


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """One numbered part of a report as received."""

    kind: RequestKind
    request_id: int
    seq_no: int
    tbc: bool
    generated_at: datetime
    items: int
    data: Any


def key_of(component: m.Component, variable: m.Variable, attribute: str) -> str:
    """`Component[instance]@evse.connector/Variable[instance]:Attribute` (absent parts omitted)."""
    key = component.name + (f"[{component.instance}]" if component.instance else "")
    if component.evse is not None:
        evse = component.evse
        key += f"@{evse.id}" + (f".{evse.connector_id}" if evse.connector_id else "")
    key += f"/{variable.name}" + (f"[{variable.instance}]" if variable.instance else "")
    return key + f":{attribute}"


def _where(component: m.Component, variable: m.Variable) -> dict[str, Any]:
    evse = component.evse
    return {"component": component.name, "component_instance": component.instance,
            "evse_id": evse.id if evse else None,
            "connector_id": evse.connector_id if evse else None,
            "variable": variable.name, "variable_instance": variable.instance}


def report_rows(report: Iterable[m.ReportData]) -> list[VariableRow]:
    """Every attribute of a NotifyReport part, one row each."""
    rows = []
    for data in report:
        traits = (msgspec.to_builtins(data.variable_characteristics)
                  if data.variable_characteristics is not None else None)
        for attr in data.variable_attribute:
            kind = attr.type.value if attr.type else "Actual"
            rows.append(VariableRow(
                key=key_of(data.component, data.variable, kind),
                **_where(data.component, data.variable), attribute_type=kind,
                value=attr.value, mutability=attr.mutability.value if attr.mutability else None,
                persistent=attr.persistent, constant=attr.constant, characteristics=traits))
    return rows


def got_rows(results: Iterable[m.GetVariableResult]) -> list[VariableRow]:
    """GetVariables results the station Accepted: their current values."""
    return [VariableRow(key=key_of(r.component, r.variable, _type(r.attribute_type)),
                        **_where(r.component, r.variable),
                        attribute_type=_type(r.attribute_type), value=r.attribute_value)
            for r in results
            if r.attribute_status is m.GetVariableStatusEnum.ACCEPTED]


SET_STORED = frozenset({m.SetVariableStatusEnum.ACCEPTED, m.SetVariableStatusEnum.REBOOT_REQUIRED})


def set_rows(asked: Iterable[m.SetVariableData],
             results: Iterable[m.SetVariableResult]) -> list[VariableRow]:
    """SetVariables items the station took (Accepted or RebootRequired) with the value sent."""
    values = {key_of(d.component, d.variable, _type(d.attribute_type)): d.attribute_value
              for d in asked}
    rows = []
    for r in results:
        key = key_of(r.component, r.variable, _type(r.attribute_type))
        if r.attribute_status in SET_STORED and key in values:
            rows.append(VariableRow(
                key=key, **_where(r.component, r.variable), attribute_type=_type(r.attribute_type),
                value=values[key],
                reboot_required=r.attribute_status is m.SetVariableStatusEnum.REBOOT_REQUIRED))
    return rows


def _type(attribute: m.AttributeEnum | None) -> str:
    return attribute.value if attribute else "Actual"


def monitor_rows(data: Iterable[m.MonitoringData]) -> list[MonitorRow]:
    """Every monitor of a NotifyMonitoringReport part."""
    return [MonitorRow(id=v.id, **_where(d.component, d.variable), type=v.type.value,
                       value=v.value, severity=v.severity, transaction=v.transaction)
            for d in data for v in d.variable_monitoring]


def set_monitor_rows(results: Iterable[m.SetMonitoringResult],
                     asked: Iterable[m.SetMonitoringData]) -> list[MonitorRow]:
    """Monitors a station Accepted (with the id it gave them) and the value asked for: each
    result is matched to the item asked at its position, or else to one with its component,
    variable, type and severity (a station may answer in another order)."""
    asked = list(asked)
    rows = []
    for index, r in enumerate(results):
        if r.status is not m.SetMonitoringStatusEnum.ACCEPTED or r.id is None:
            continue
        same = [a for a in ([asked[index]] if index < len(asked) else []) + asked
                if (a.component, a.variable, a.type, a.severity)
                == (r.component, r.variable, r.type, r.severity)]
        if not same:  # nothing like it was asked: not stored
            continue
        rows.append(MonitorRow(
            id=r.id, **_where(r.component, r.variable), type=r.type.value, value=same[0].value,
            severity=r.severity, transaction=bool(same[0].transaction)))
    return rows


def event_rows(req: m.NotifyEventRequest) -> list[EventRow]:
    """One row per eventData of a NotifyEvent."""
    return [EventRow(
        generated_at=req.generated_at, seq_no=req.seq_no, event_id=e.event_id,
        occurred_at=e.timestamp, trigger=e.trigger.value,
        notification_type=e.event_notification_type.value, component=e.component.name,
        variable=e.variable.name, evse_id=e.component.evse.id if e.component.evse else None,
        actual_value=e.actual_value, cleared=e.cleared,
        variable_monitoring_id=e.variable_monitoring_id, data=msgspec.to_builtins(e))
        for e in req.event_data]


def report_part(req: m.NotifyReportRequest) -> Part:
    data = msgspec.to_builtins(req.report_data or ())
    return Part(kind=RequestKind.REPORT, request_id=req.request_id, seq_no=req.seq_no,
                tbc=bool(req.tbc), generated_at=req.generated_at, items=len(data), data=data)


def monitoring_part(req: m.NotifyMonitoringReportRequest) -> Part:
    data = msgspec.to_builtins(req.monitor or ())
    return Part(kind=RequestKind.MONITORING, request_id=req.request_id, seq_no=req.seq_no,
                tbc=bool(req.tbc), generated_at=req.generated_at, items=len(data), data=data)


def customer_part(req: m.NotifyCustomerInformationRequest) -> Part:
    return Part(kind=RequestKind.CUSTOMER, request_id=req.request_id, seq_no=req.seq_no,
                tbc=bool(req.tbc), generated_at=req.generated_at, items=1, data=req.data)


def names_everything(kind: RequestKind, params: dict[str, Any]) -> bool:
    """Whether a request's complete answer names all the station has: FullInventory, or a
    monitoring report without criteria (what it does not name is gone from the station)."""
    if kind is RequestKind.REPORT:
        return params.get("reportBase") == m.ReportBaseEnum.FULL_INVENTORY.value
    if kind is RequestKind.MONITORING:
        return not params.get("monitoringCriteria") and not params.get("componentVariable")
    return False


def reported_keys(parts: Iterable[Part]) -> set[str]:
    """The variable keys the parts of a NotifyReport answer name."""
    return {row.key for part in parts
            for row in report_rows(msgspec.convert(part.data, list[m.ReportData]))}


def reported_monitors(parts: Iterable[Part]) -> set[int]:
    """The monitor ids the parts of a NotifyMonitoringReport answer name."""
    return {row.id for part in parts
            for row in monitor_rows(msgspec.convert(part.data, list[m.MonitoringData]))}


def complete(parts: Iterable[Part | tuple[int, bool]]) -> bool:
    """True when the parts run 0..n without a gap and the last one has tbc false."""
    seen = sorted((p.seq_no, p.tbc) if isinstance(p, Part) else p for p in parts)
    if not seen or seen[-1][1]:
        return False
    return [s for s, _ in seen] == list(range(len(seen)))
