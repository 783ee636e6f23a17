"""Pure rules: which NotifyEvent events open an operator alert, and which one."""

from __future__ import annotations

from typing import Final

import msgspec

from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.device_model.model import EventRow

DEVICE_EVENT: Final = "device_event"


class EventAlertRules(msgspec.Struct, frozen=True, kw_only=True):
    """`[device_model]` event_alert_*: an event alerts when its monitor's severity is at most
    `max_severity` (OCPP: 0 Danger .. 9 Debug; -1 disables it) or its component is listed."""

    max_severity: int = 2
    components: frozenset[str] = frozenset()


def _severity(ocpp_severity: int | None) -> Severity:
    if ocpp_severity is None or ocpp_severity > 4:  # a listed component without a known monitor
        return Severity.WARNING if ocpp_severity is None else Severity.INFO
    return Severity.CRITICAL if ocpp_severity <= 2 else Severity.WARNING


def event_alert(station_id: str, event: EventRow, rules: EventAlertRules) -> NewAlert | None:
    """The alert `event` opens under `rules`, or None; a cleared event never opens one.

    One open alert per station, component, variable and EVSE (the dedupe key)."""
    if event.cleared:
        return None
    by_severity = event.severity is not None and event.severity <= rules.max_severity
    if not by_severity and event.component not in rules.components:
        return None
    where = f"{event.component}/{event.variable}" + (
        f"@{event.evse_id}" if event.evse_id is not None else "")
    return NewAlert(
        severity=_severity(event.severity), kind=DEVICE_EVENT, charge_point_id=station_id,
        message=f"station {station_id} reported {event.trigger} on {where}: {event.actual_value}",
        details={"component": event.component, "variable": event.variable,
                 "evseId": event.evse_id, "trigger": event.trigger,
                 "actualValue": event.actual_value, "severity": event.severity,
                 "eventId": event.event_id, "timestamp": event.occurred_at.isoformat(),
                 "techCode": event.data.get("techCode"), "techInfo": event.data.get("techInfo")},
        dedupe_key=f"{DEVICE_EVENT}:{station_id}:{where}")
