"""In-memory Alerts; passes the same contract tests as adapters.pg_alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

from msgspec.structs import replace

from sigec_actors.alerts.model import (
    Alert,
    AlertFilter,
    AlertPage,
    AlertResolved,
    NewAlert,
    Opened,
    UnknownAlert,
    opened_event,
)
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.testing.repos import InMemoryOutbox, InMemoryStations, Now, utcnow


@dataclass
class InMemoryAlerts:
    """Alerts fake: `alerts` in opening order; `alert.opened` goes to `outbox`.

    With `stations`, an alert naming an unknown station raises UnknownStation (the foreign
    key). `fail_with` makes every call raise it (a storage outage for the callers' tests).
    """

    now: Now = utcnow
    outbox: InMemoryOutbox = field(default_factory=InMemoryOutbox)
    stations: InMemoryStations | None = None
    alerts: list[Alert] = field(default_factory=list)
    fail_with: Exception | None = None

    async def open(self, new: NewAlert) -> Opened:
        self._check()
        if (self.stations is not None and new.charge_point_id is not None
                and await self.stations.get(new.charge_point_id) is None):
            raise UnknownStation(new.charge_point_id)
        if new.dedupe_key is not None:
            for alert in self.alerts:
                if alert.dedupe_key == new.dedupe_key and alert.resolved_at is None:
                    return Opened(alert, created=False)
        alert = Alert(id=uuid.uuid4(), severity=new.severity, kind=new.kind,
                      message=new.message, charge_point_id=new.charge_point_id,
                      details=dict(new.details), dedupe_key=new.dedupe_key,
                      created_at=self.now())
        self.alerts.append(alert)
        self.outbox.extend([opened_event(alert)])
        return Opened(alert, created=True)

    async def get(self, alert_id: UUID) -> Alert | None:
        self._check()
        return next((a for a in self.alerts if a.id == alert_id), None)

    async def page(self, where: AlertFilter, limit: int = 50, offset: int = 0) -> AlertPage:
        self._check()
        found = [a for a in reversed(self.alerts) if where.matches(a)]
        found.sort(key=lambda a: a.created_at, reverse=True)  # stable: later opened first
        return AlertPage(found[offset:offset + limit], len(found))

    async def acknowledge(self, alert_id: UUID, by: UUID) -> Alert:
        alert = await self._unresolved(alert_id)
        if alert.acknowledged_at is not None:
            return alert
        return self._put(replace(alert, acknowledged_at=self.now(), acknowledged_by=by))

    async def resolve(self, alert_id: UUID) -> Alert:
        alert = await self._unresolved(alert_id)
        return self._put(replace(alert, resolved_at=self.now()))

    async def _unresolved(self, alert_id: UUID) -> Alert:
        alert = await self.get(alert_id)
        if alert is None:
            raise UnknownAlert(alert_id)
        if alert.resolved_at is not None:
            raise AlertResolved(alert_id)
        return alert

    def _put(self, alert: Alert) -> Alert:
        self.alerts = [alert if a.id == alert.id else a for a in self.alerts]
        return alert

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

