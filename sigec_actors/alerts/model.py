"""Alert records, filters and errors; the `alert.opened` event they publish."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.domain.events import ALERT_OPENED
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.errors import SigecError


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """Where an alert is in its life: open -> acknowledged (optional) -> resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NewAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert to open; while one with the same `dedupe_key` is unresolved, no second opens."""

    severity: Severity
    kind: str
    message: str
    charge_point_id: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    dedupe_key: str | None = None


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    severity: Severity
    kind: str
    message: str
    charge_point_id: str | None
    details: dict[str, Any]
    dedupe_key: str | None
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: UUID | None = None
    resolved_at: datetime | None = None

    @property
    def status(self) -> AlertStatus:
        if self.resolved_at is not None:
            return AlertStatus.RESOLVED
        if self.acknowledged_at is not None:
            return AlertStatus.ACKNOWLEDGED
        return AlertStatus.OPEN


class Opened(msgspec.Struct, frozen=True):
    """What `Alerts.open` did: `created` False means `alert` is the one already open."""

    alert: Alert
    created: bool


class AlertFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which alerts to list; None matches anything (`status` None: every status)."""

    status: AlertStatus | None = AlertStatus.OPEN
    severity: Severity | None = None
    kind: str | None = None
    charge_point_id: str | None = None

    def matches(self, alert: Alert) -> bool:
        return ((self.status is None or alert.status is self.status)
                and (self.severity is None or alert.severity is self.severity)
                and (self.kind is None or alert.kind == self.kind)
                and (self.charge_point_id is None
                     or alert.charge_point_id == self.charge_point_id))


class AlertPage(msgspec.Struct, frozen=True):
    """One page of alerts, newest first, and how many match the filter in all."""

    items: list[Alert]
    total: int


class AlertError(SigecError):
    """Base of the errors the Alerts port raises on purpose."""


class UnknownAlert(AlertError):
    def __init__(self, alert_id: UUID) -> None:
        self.alert_id = alert_id
        super().__init__(f"unknown alert: {alert_id}")


class AlertResolved(AlertError):
    """The alert is already resolved: it can be neither acknowledged nor resolved again."""

    def __init__(self, alert_id: UUID) -> None:
        self.alert_id = alert_id
        super().__init__(f"alert {alert_id} is already resolved")


def opened_event(alert: Alert) -> OutboxMessage:
    """The `alert.opened` event, written with the alert in one DB transaction."""
    return OutboxMessage(ALERT_OPENED, {
        "alertId": str(alert.id), "chargePointId": alert.charge_point_id,
        "severity": alert.severity.value, "kind": alert.kind, "message": alert.message,
        "details": alert.details, "createdAt": alert.created_at.isoformat()})
