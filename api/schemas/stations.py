"""Bodies of the station-admin and device routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.ports import FirmwareState
from api.schemas.base import Body, Limit, Out, PageQuery
from sigec_actors.domain.records import Connector, Location, Station
from sigec_actors.ocpp.generated import v201

StationId = Annotated[str, msgspec.Meta(min_length=1, max_length=48,
                                        pattern=r"^[A-Za-z0-9*_=+|@.-]{1,48}$")]
StationPassword = Annotated[str, msgspec.Meta(min_length=16, max_length=40,
                                              pattern=r"^[A-Za-z0-9*_=:+|@.-]{16,40}$")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LocationBody(Body, frozen=True, kw_only=True):
    name: Text
    latitude: Latitude
    longitude: Longitude
    address: Text | None = None
    city: Text | None = None
    state: Text | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class CreateStationBody(Body, frozen=True, kw_only=True):
    id: StationId
    security_profile: Annotated[int, msgspec.Meta(ge=0, le=3)]
    password: StationPassword | None = None
    vendor: Text | None = None
    model: Text | None = None
    location: LocationBody | None = None


class StationPasswordBody(Body, frozen=True, kw_only=True):
    password: StationPassword | None = None


class LocationOut(Out, frozen=True, kw_only=True):
    id: str
    name: str
    latitude: float
    longitude: float
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None

    @classmethod
    def of(cls, loc: Location) -> LocationOut:
        return cls(id=str(loc.id), name=loc.name, latitude=loc.latitude,
                   longitude=loc.longitude, address=loc.address, city=loc.city,
                   state=loc.state, postal_code=loc.postal_code)


class StationOut(Out, frozen=True, kw_only=True):
    """A station as administrators see it (credentials never leave the server)."""

    id: str
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    location_id: str | None
    admin_status: str
    security_profile: int
    online: bool
    last_seen: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, s: Station) -> StationOut:
        return cls(id=s.id, vendor=s.vendor, model=s.model, serial_number=s.serial_number,
                   firmware_version=s.firmware_version,
                   location_id=str(s.location_id) if s.location_id else None,
                   admin_status=s.admin_status, security_profile=s.security_profile,
                   online=s.online, last_seen=s.last_seen, created_at=s.created_at)


class StationCreatedOut(Out, frozen=True, kw_only=True):
    station: StationOut
    password: str | None = None  # only when generated; shown once, never stored in clear


class StationPage(Out, frozen=True, kw_only=True):
    items: list[StationOut]
    total: int
    limit: int
    offset: int


class PasswordChangedOut(Out, frozen=True, kw_only=True):
    station_id: str
    password: str | None = None  # only when generated
    pushed: bool  # True when the connected station accepted SetVariables BasicAuthPassword
    station_answer: v201.SetVariablesResponse | None = None


class DeviceQuery(PageQuery, frozen=True, kw_only=True):
    status: Literal["online", "offline"] | None = None


class NearbyQuery(Body, frozen=True, kw_only=True):
    lat: Latitude
    lng: Longitude
    radius_km: Annotated[float, msgspec.Meta(gt=0, le=500)] = 10.0
    limit: Limit = 50


class DeviceOut(Out, frozen=True, kw_only=True):
    id: str
    vendor: str | None
    model: str | None
    admin_status: str
    online: bool
    last_seen: datetime | None
    location_id: str | None

    @classmethod
    def of(cls, s: Station) -> DeviceOut:
        return cls(id=s.id, vendor=s.vendor, model=s.model, admin_status=s.admin_status,
                   online=s.online, last_seen=s.last_seen,
                   location_id=str(s.location_id) if s.location_id else None)


class DevicePage(Out, frozen=True, kw_only=True):
    items: list[DeviceOut]
    total: int
    limit: int
    offset: int


class ConnectorOut(Out, frozen=True, kw_only=True):
    evse_id: int
    connector_id: int
    status: str
    status_changed_at: datetime | None = None
    type: str | None = None
    max_power_w: int | None = None

    @classmethod
    def of(cls, c: Connector) -> ConnectorOut:
        return cls(evse_id=c.evse_id, connector_id=c.connector_id, status=c.status.value,
                   status_changed_at=c.status_changed_at, type=c.type,
                   max_power_w=c.max_power_w)


class DeviceDetailOut(Out, frozen=True, kw_only=True):
    id: str
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    admin_status: str
    online: bool
    last_seen: datetime | None
    location: LocationOut | None
    connectors: list[ConnectorOut]


class NearbyDeviceOut(Out, frozen=True, kw_only=True):
    device: DeviceOut
    location: LocationOut
    distance_km: float


class NearbyOut(Out, frozen=True, kw_only=True):
    items: list[NearbyDeviceOut]


class DeviceStatusBody(Body, frozen=True, kw_only=True):
    admin_status: v201.OperationalStatusEnum


class DeviceStatusOut(Out, frozen=True, kw_only=True):
    id: str
    admin_status: v201.OperationalStatusEnum
    station_answer: v201.ChangeAvailabilityResponse | None


class FirmwareStatusOut(Out, frozen=True, kw_only=True):
    station_id: str
    firmware_version: str | None
    online: bool
    last_report: FirmwareState | None
