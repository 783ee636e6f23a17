"""The device-model block on a node: its store, station handlers and REST ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.config import DeviceModelConfig, Settings
from sigec_actors.device_model.handlers import FirstBootInventory, Send, StationSide
from sigec_actors.device_model.pg import PgDeviceModel
from sigec_actors.device_model.ports import DeviceModelStore
from sigec_actors.device_model.rules import EventAlertRules
from sigec_actors.ports import DbPool

EXTRAS_KEY = "device_model"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeviceModelPorts:
    """What the REST routes need: the store, the settings and where log files go."""

    store: DeviceModelStore
    config: DeviceModelConfig
    log_dir: Path


def alert_rules(config: DeviceModelConfig) -> EventAlertRules:
    return EventAlertRules(max_severity=config.event_alert_max_severity,
                           components=frozenset(filter(None, (
                               c.strip() for c in config.event_alert_components.split(",")))))


class DeviceModelWiring:
    """Registers the station handlers (and the first-boot FullInventory watcher)."""

    def __init__(self, pool: DbPool, settings: Settings, handlers: StationHandlers,
                 alerts: Alerts | None, jobs: Callable[[], Send],
                 store: DeviceModelStore | None = None) -> None:
        config = settings.device_model
        self.store = store or PgDeviceModel(pool)
        StationSide(self.store, _now, alerts=alerts, rules=alert_rules(config)).register(handlers)
        self.inventory: FirstBootInventory | None = None
        if config.full_inventory_on_first_boot:
            self.inventory = FirstBootInventory(self.store, jobs, _now)
            self.inventory.register(handlers)
        self.ports = DeviceModelPorts(self.store, config, settings.data_dir / "logs")

    def fill(self, extras: dict[str, Any]) -> None:
        extras[EXTRAS_KEY] = self.ports

    async def aclose(self) -> None:
        if self.inventory is not None:
            await self.inventory.aclose()
