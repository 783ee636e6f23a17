"""In-memory fakes of the operator surface's ports (tariff admin, dashboard figures)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.admin_surface.dashboard import (
    AlertCounts,
    ConnectorCounts,
    Dashboard,
    SessionCounts,
    StationCounts,
    Today,
    V2GToday,
)
from sigec_actors.admin_surface.stations import DETAILS
from sigec_actors.tariffs.model import (
    BadTariff,
    TariffOverlap,
    TariffRow,
    UnknownTariff,
    first_overlap,
    plan_delete,
    plan_edit,
)
from sigec_actors.testing.repos import InMemoryStations


class InMemoryTariffAdmin:
    """PgTariffAdmin in memory; `used` holds the ids of tariffs that priced a session and
    `stations` (when not None) the registered station ids."""

    def __init__(self, stations: set[str] | None = None) -> None:
        self.rows: dict[UUID, TariffRow] = {}
        self.used: set[UUID] = set()
        self.stations = stations

    async def page(self, limit: int, offset: int, *,
                   deleted: bool = False) -> tuple[list[TariffRow], int]:
        rows = sorted((r for r in self.rows.values() if deleted or r.deleted_at is None),
                      key=lambda r: (-r.valid_from.timestamp(), str(r.id)))
        return rows[offset:offset + limit], len(rows)

    async def get(self, tariff_id: UUID) -> TariffRow | None:
        return self.rows.get(tariff_id)

    async def create(self, row: TariffRow) -> TariffRow:
        self._check(row)
        self.rows[row.id] = row
        return row

    async def update(self, tariff_id: UUID, changes: Mapping[str, Any],
                     now: datetime) -> TariffRow:
        row = self._row(tariff_id)
        edit = plan_edit(row, dict(changes), now, used=tariff_id in self.used,
                         new_id=uuid.uuid4())
        changed = msgspec.structs.replace(row, **edit.update)
        if edit.successor is None:
            self._check(changed)
            self.rows[tariff_id] = changed
            return changed
        self._check(edit.successor, also=changed)
        self.rows[tariff_id] = changed
        self.rows[edit.successor.id] = edit.successor
        return edit.successor

    async def delete(self, tariff_id: UUID, now: datetime) -> TariffRow | None:
        row = self._row(tariff_id)
        values = plan_delete(row, now, used=tariff_id in self.used)
        if values is None:
            del self.rows[tariff_id]
            return None
        self.rows[tariff_id] = msgspec.structs.replace(row, **values)
        return self.rows[tariff_id]

    def _row(self, tariff_id: UUID) -> TariffRow:
        row = self.rows.get(tariff_id)
        if row is None:
            raise UnknownTariff(tariff_id)
        return row

    def _check(self, row: TariffRow, also: TariffRow | None = None) -> None:
        if (self.stations is not None and row.charge_point_id is not None
                and row.charge_point_id not in self.stations):
            raise BadTariff("charge_point_id", "names no registered station")
        others = [also if also is not None and r.id == also.id else r
                  for r in self.rows.values()]
        other = first_overlap(row, others)
        if other is not None:
            raise TariffOverlap(other.id)


class FixedDashboard:
    """DashboardSource that answers all-zero figures (the API harness has no database)."""

    async def figures(self, now: datetime) -> Dashboard:
        return Dashboard(
            stations=StationCounts(total=0, online=0, offline=0, faulted=0),
            connectors=ConnectorCounts(available=0, occupied=0, reserved=0, faulted=0,
                                       unavailable=0),
            sessions=SessionCounts(active=0), today=Today(sessions=0, energy_wh=0,
                                                          revenue_centavos=0),
            v2g=V2GToday(active_sessions=0, exported_wh_today=0, paid_centavos_today=0),
            alerts=AlertCounts(open=0, critical=0), nodes=[], at=now)


class InMemoryStationDetails:
    """PgStationDetails over an InMemoryStations."""

    def __init__(self, stations: InMemoryStations) -> None:
        self._stations = stations

    async def set_details(self, station_id: str, changes: Mapping[str, Any]) -> bool:
        if await self._stations.get(station_id) is None:
            return False
        self._stations._update(station_id, **{k: v for k, v in changes.items()
                                              if k in DETAILS})
        return True
