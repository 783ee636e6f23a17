"""The shell of the operator alert rules: a periodic sweep of PostgreSQL (offline stations,
Faulted connectors, node restarts) and listeners on event subjects (firmware, payments)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.admin_surface.nodes import PgNodeReports
from sigec_actors.alerts import operator_rules as rules
from sigec_actors.alerts.model import NewAlert
from sigec_actors.alerts.ports import Alerts
from sigec_actors.config import Settings
from sigec_actors.domain.errors import BusError
from sigec_actors.domain.events import FIRMWARE_UPDATE_FAILED, PAYMENT_DISPUTED, PAYMENT_FAILED
from sigec_actors.ports import BusMessage, DbPool, EventBus, Subscription

log = structlog.get_logger("alerts.rules")
QUEUE = "sigec-alert-rules"  # one node of the cluster takes each event
SUBJECTS = {FIRMWARE_UPDATE_FAILED: rules.FIRMWARE_FAILED, PAYMENT_FAILED: rules.PAYMENT_FAILED,
            PAYMENT_DISPUTED: rules.PAYMENT_DISPUTED}


class AlertRules:
    """Opens alerts for the operator rules; `sweep` runs every [operator] rules_interval_s."""

    def __init__(self, pool: DbPool, alerts: Alerts, settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self._pool = pool
        self._alerts = alerts
        self._nodes = PgNodeReports(pool)
        self._clock = clock
        self._heartbeat_s = settings.ocpp.heartbeat_interval_s
        self._op = settings.operator
        self._subscriptions: list[Subscription] = []

    async def sweep(self) -> int:
        """Check every rule that reads the database; returns how many alerts opened."""
        now = self._clock()
        found = [*await self._offline(now), *await self._faulted(),
                 *await self._restarting(now)]
        return sum([await self._open(a) for a in found])

    async def _offline(self, now: datetime) -> list[NewAlert]:
        limit = now - timedelta(seconds=self._heartbeat_s * self._op.offline_heartbeats)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, last_seen FROM charge_points cp WHERE last_seen < $1"
                " AND admin_status <> 'Retired' AND NOT EXISTS (SELECT 1 FROM alerts a"
                " WHERE a.charge_point_id = cp.id AND a.kind = $2"
                " AND a.created_at >= cp.last_seen)",  # this silence alerted already
                limit, rules.STATION_OFFLINE)
        found = (rules.station_offline(r["id"], r["last_seen"], now, self._heartbeat_s,
                                       self._op.offline_heartbeats) for r in rows)
        return [a for a in found if a is not None]

    async def _faulted(self) -> list[NewAlert]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT c.charge_point_id, c.evse_id, c.connector_id, c.status_changed_at"
                " FROM connectors c JOIN charge_points cp ON cp.id = c.charge_point_id"
                " WHERE c.status = 'Faulted' AND cp.admin_status <> 'Retired'")
        return [rules.connector_faulted(r["charge_point_id"], r["evse_id"], r["connector_id"],
                                        r["status_changed_at"]) for r in rows]

    async def _restarting(self, now: datetime) -> list[NewAlert]:
        window = self._op.node_restart_window_s
        starts = await self._nodes.starts_since(now - timedelta(seconds=window))
        found = (rules.node_restarting(node, n, self._op.node_restarts, window)
                 for node, n in sorted(starts.items()))
        return [a for a in found if a is not None]

    async def listen(self, bus: EventBus, queue: str = QUEUE) -> None:
        """Take the firmware and payment events (one node of the `queue` group per event)."""
        for subject in SUBJECTS:
            self._subscriptions.append(await bus.subscribe(subject, self.on_event, queue=queue))

    async def close(self) -> None:
        for sub in self._subscriptions:
            try:
                await sub.unsubscribe()
            except BusError:
                log.warning("alert_rules_unsubscribe_failed")
        self._subscriptions.clear()

    async def on_event(self, msg: BusMessage) -> bytes | None:
        kind = SUBJECTS.get(msg.subject)
        try:
            event: Any = msgspec.json.decode(msg.data)
        except msgspec.DecodeError:
            log.warning("alert_rule_bad_event", subject=msg.subject)
            return None
        if kind is None or not isinstance(event, dict):
            return None
        alert = (rules.firmware_failed(event) if kind == rules.FIRMWARE_FAILED
                 else rules.payment_trouble(event, kind))
        if alert is not None:
            await self._open(alert)
        return None

    async def _open(self, alert: NewAlert) -> bool:
        try:
            opened = await self._alerts.open(alert)
        except STORAGE_FAILURES as exc:  # the station deleted meanwhile, the database away
            log.warning("alert_rule_not_opened", kind=alert.kind, key=alert.dedupe_key,
                        error=f"{type(exc).__name__}: {exc}")
            return False
        if opened.created:
            log.info("alert_rule_opened", kind=alert.kind, key=alert.dedupe_key)
        return opened.created
