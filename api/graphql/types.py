"""GraphQL object types: the REST answers (api.schemas) as strawberry types, field for field."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

import msgspec
import strawberry
from strawberry.scalars import JSON

from api.graphql.inputs import PageInfo
from api.schemas import v2g as v2g_schemas
from api.schemas.alerts import AlertOut
from api.schemas.stations import ConnectorOut, DeviceDetailOut, DeviceOut, LocationOut
from api.schemas.transactions import TransactionOut

if TYPE_CHECKING:
    from api.routes.reservations import ReservationOut

T = TypeVar("T")


def copy(cls: type[T], out: msgspec.Struct, **given: Any) -> T:
    """A strawberry type from a response struct: the fields they share, plus `given`."""
    names = {f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
             if f.init} - set(given)  # resolver fields (Device.connectors) are not init args
    values = {name: getattr(out, name) for name in names if hasattr(out, name)}
    return cls(**values, **given)


@strawberry.type(description="The signed-in user")
class Me:
    id: str
    name: str
    email: str
    role: str
    status: str
    created_at: datetime


@strawberry.type
class Connector:
    evse_id: int
    connector_id: int
    status: str = strawberry.field(description="Last StatusNotification (Available, ...)")
    status_changed_at: datetime | None = None
    type: str | None = None
    max_power_w: int | None = None

    @classmethod
    def of(cls, c: ConnectorOut) -> Connector:
        return copy(cls, c)


@strawberry.type
class Location:
    id: str
    name: str
    latitude: float
    longitude: float
    address: str | None
    city: str | None
    state: str | None
    postal_code: str | None


@strawberry.type(description="A charge point with its connectors and live status")
class Device:
    id: strawberry.ID
    vendor: str | None
    model: str | None
    admin_status: str
    online: bool
    last_seen: datetime | None
    location_id: str | None
    serial_number: str | None = None
    firmware_version: str | None = None
    location: Location | None = None
    known_connectors: strawberry.Private[list[Connector] | None] = None

    @strawberry.field
    def connectors(self, info: strawberry.Info) -> list[Connector]:
        """Connectors with their status; a page of devices loads them in one query.

        Not a coroutine: `devices` preloads a page's connectors, and a plain list completes
        far faster than one awaited resolver per device; otherwise the DataLoader's future
        (GraphQL awaits it) batches the loads of the page."""
        if self.known_connectors is not None:
            return self.known_connectors
        return cast("list[Connector]", info.context.loaders.connectors.load(str(self.id)))

    @classmethod
    def of(cls, d: DeviceOut) -> Device:
        return copy(cls, d, id=strawberry.ID(d.id))

    @classmethod
    def detail(cls, d: DeviceDetailOut) -> Device:
        return copy(cls, d, id=strawberry.ID(d.id), location_id=d.location.id if d.location
                    else None, location=_location(d.location),
                    known_connectors=[Connector.of(c) for c in d.connectors])


def _location(loc: LocationOut | None) -> Location | None:
    return None if loc is None else copy(Location, loc)


@strawberry.type
class DeviceConnection:
    nodes: list[Device]
    total_count: int
    page_info: PageInfo


@strawberry.type
class Meter:
    measurand: str
    value: str
    unit: str | None
    phase: str | None
    sampled_at: datetime


@strawberry.type(description="A charging session (cost in integer centavos)")
class Transaction:
    id: strawberry.ID
    station_transaction_id: str
    charge_point_id: str
    evse_id: int | None
    connector_id: int | None
    status: str
    incomplete: bool
    charging_state: str | None
    stopped_reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    energy_wh: int
    energy_export_wh: int
    cost_centavos: int
    currency: str
    meter_values: list[Meter]

    @classmethod
    def of(cls, t: TransactionOut) -> Transaction:
        return copy(cls, t, id=strawberry.ID(str(t.id)), cost_centavos=t.cost.amount_centavos,
                    currency=t.cost.currency, meter_values=[copy(Meter, m)
                                                            for m in t.meter_values])


@strawberry.type
class TransactionConnection:
    nodes: list[Transaction]
    total_count: int
    page_info: PageInfo


@strawberry.type
class StartResult:
    accepted: bool
    status: str
    remote_start_id: int
    station_transaction_id: str | None


@strawberry.type
class StopResult:
    accepted: bool
    status: str


@strawberry.type
class Wallet:
    balance_centavos: int
    currency: str
    pending_centavos: int


@strawberry.type
class Compensation:
    gross_centavos: int
    margin_centavos: int
    net_centavos: int
    status: str


@strawberry.type(description="A V2G discharge session")
class V2GSession:
    id: strawberry.ID
    charge_point_id: str
    evse_id: int | None
    transaction_id: str | None
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    min_soc: int | None
    start_soc: int | None
    current_soc: int | None
    exported_wh: int
    power_w: int | None
    stop_reason: str | None
    compensation: Compensation

    @classmethod
    def of(cls, s: v2g_schemas.SessionOut) -> V2GSession:
        return copy(cls, s, id=strawberry.ID(str(s.id)),
                    compensation=copy(Compensation, s.compensation))


@strawberry.type(description="One hour's grid price (CCEE PLD and the retail price)")
class GridPrice:
    submarket: str
    hour_start: datetime
    pld_centavos_per_mwh: int
    price_centavos_per_mwh: int
    price_centavos_per_kwh: int
    is_peak: bool
    source: str
    stale: bool


@strawberry.type
class Alert:
    id: strawberry.ID
    status: str
    severity: str
    kind: str
    message: str
    charge_point_id: str | None
    details: JSON
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, a: AlertOut) -> Alert:
        return copy(cls, a, id=strawberry.ID(str(a.id)), status=str(a.status),
                    severity=str(a.severity), acknowledged_by=_str(a.acknowledged_by))


@strawberry.type
class AlertConnection:
    nodes: list[Alert]
    total_count: int
    page_info: PageInfo


@strawberry.type
class Reservation:
    id: strawberry.ID
    reservation_id: int
    charge_point_id: str
    evse_id: int | None
    status: str
    accepted: bool
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, r: ReservationOut) -> Reservation:
        return copy(cls, r, id=strawberry.ID(str(r.id)))


@strawberry.type(description="A connector's new status (a StatusNotification, from NATS)")
class StationStatusEvent:
    station_id: str
    evse_id: int
    connector_id: int
    status: str
    previous: str | None
    timestamp: str


@strawberry.type(description="The station's answer to a command, as OCPP JSON")
class CommandResult:
    status: str | None
    response: JSON


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
