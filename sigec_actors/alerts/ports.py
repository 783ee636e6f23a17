"""The Alerts port: PostgreSQL (adapters.pg_alerts) and in memory (testing.alerts)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from sigec_actors.alerts.model import Alert, AlertFilter, AlertPage, NewAlert, Opened


class Alerts(Protocol):
    """Operator alerts; at most one unresolved alert per dedupe key."""

    async def open(self, new: NewAlert) -> Opened:
        """Open `new` and queue `alert.opened`, in one transaction; if an unresolved alert has
        its dedupe key, change nothing and return that one. UnknownStation if
        `charge_point_id` names no station."""
        ...

    async def get(self, alert_id: UUID) -> Alert | None: ...

    async def page(self, where: AlertFilter, limit: int = 50, offset: int = 0) -> AlertPage:
        """Alerts matching `where`, newest first, with the total count."""
        ...

    async def acknowledge(self, alert_id: UUID, by: UUID) -> Alert:
        """Mark it seen by `by` (again: unchanged). UnknownAlert; AlertResolved."""
        ...

    async def resolve(self, alert_id: UUID) -> Alert:
        """Close it (its dedupe key may open again). UnknownAlert; AlertResolved.

        The table keeps no resolver: whoever resolves it is in the audit log (REST audits)."""
        ...
