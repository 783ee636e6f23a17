"""Bodies and queries of the operator alert routes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from api.schemas.base import Body, Limit, Offset, Out
from api.schemas.stations import StationId
from sigec_actors.alerts.model import Alert, AlertFilter, AlertStatus, Severity


class StatusFilter(StrEnum):
    """`open`: neither acknowledged nor resolved; `all`: any status."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALL = "all"

    def status(self) -> AlertStatus | None:
        return None if self is StatusFilter.ALL else AlertStatus(self.value)


Kind = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class AlertQuery(Body, frozen=True, kw_only=True):
    """Alerts newest first; every filter given must match.

    Absent filters are UNSET, not None, so the schema has no `null` that a query string
    could only spell "null" (which would then be ambiguous)."""

    status: StatusFilter = StatusFilter.OPEN
    severity: Severity | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    charge_point_id: StationId | UnsetType = UNSET
    limit: Limit = 50
    offset: Offset = 0

    def where(self) -> AlertFilter:
        """The filter the query asks for."""
        return AlertFilter(
            status=self.status.status(),
            severity=self.severity if isinstance(self.severity, Severity) else None,
            kind=self.kind if isinstance(self.kind, str) else None,
            charge_point_id=self.charge_point_id if isinstance(self.charge_point_id, str)
            else None)


class AlertOut(Out, frozen=True, kw_only=True):
    id: UUID
    status: AlertStatus
    severity: Severity
    kind: str
    message: str
    charge_point_id: str | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(id=alert.id, status=alert.status, severity=alert.severity, kind=alert.kind,
                   message=alert.message, charge_point_id=alert.charge_point_id,
                   details=alert.details, created_at=alert.created_at,
                   acknowledged_at=alert.acknowledged_at,
                   acknowledged_by=alert.acknowledged_by, resolved_at=alert.resolved_at)


class AlertPageOut(Out, frozen=True, kw_only=True):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int
