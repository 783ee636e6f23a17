"""Frozen records for users, stations, id tokens, refresh tokens, audit entries and events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec


class Role(StrEnum):
    USER = "user"
    OPERATOR = "operator"
    ADMIN = "admin"


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class NewUser(msgspec.Struct, frozen=True):
    """What registration stores; the password is already an argon2id hash."""

    name: str
    email: str
    password_hash: str
    role: Role = Role.USER


class User(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    email: str
    password_hash: str
    role: Role
    status: UserStatus
    created_at: datetime
    updated_at: datetime


class NewLocation(msgspec.Struct, frozen=True):
    name: str
    latitude: float
    longitude: float
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


class Location(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    latitude: float
    longitude: float
    address: str | None
    city: str | None
    state: str | None
    postal_code: str | None


class NewStation(msgspec.Struct, frozen=True):
    """A station registration (`sigec station add`, POST /admin/stations)."""

    id: str
    security_profile: int
    password_hash: str | None = None
    vendor: str | None = None
    model: str | None = None
    location_id: UUID | None = None


class Station(msgspec.Struct, frozen=True):
    id: str
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    location_id: UUID | None
    admin_status: str
    security_profile: int
    online: bool
    last_seen: datetime | None
    last_boot_at: datetime | None
    boot_reason: str | None
    created_at: datetime


class StationCredentials(msgspec.Struct, frozen=True):
    """What the OCPP gateway checks at connect time."""

    station_id: str
    security_profile: int
    password_hash: str | None


class BootInfo(msgspec.Struct, frozen=True):
    """The chargingStation fields of a BootNotification, plus its reason."""

    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    reason: str | None = None


class ConnectorStatus(StrEnum):
    """OCPP 2.0.1 ConnectorStatusEnumType."""

    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Connector(msgspec.Struct, frozen=True):
    station_id: str
    evse_id: int
    connector_id: int
    status: ConnectorStatus
    status_changed_at: datetime
    type: str | None = None
    max_power_w: int | None = None


class StationDistance(msgspec.Struct, frozen=True):
    station: Station
    location: Location
    distance_km: float


class IdTokenType(StrEnum):
    """OCPP 2.0.1 IdTokenEnumType."""

    CENTRAL = "Central"
    EMAID = "eMAID"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KEY_CODE = "KeyCode"
    LOCAL = "Local"
    MAC_ADDRESS = "MacAddress"
    NO_AUTHORIZATION = "NoAuthorization"


class IdTokenStatus(StrEnum):
    """The stored part of OCPP AuthorizationStatusEnumType (the rest is computed)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class IdToken(msgspec.Struct, frozen=True):
    id: UUID
    user_id: UUID
    id_token: str
    type: IdTokenType
    status: IdTokenStatus
    expires_at: datetime | None
    created_at: datetime


class RefreshToken(msgspec.Struct, frozen=True):
    """A refresh token as stored: only the SHA-256 of the secret is kept."""

    id: UUID
    user_id: UUID
    family_id: UUID
    parent_id: UUID | None
    token_hash: bytes
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class AuditEntry(msgspec.Struct, frozen=True):
    actor_type: str  # user | station | system
    action: str
    actor_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    ip: str | None = None
    request_id: str | None = None


class Caller(msgspec.Struct, frozen=True):
    """Who sent a station command: a REST user (`user`: the id and role of its verified access
    token) or one of the node's own jobs (`system`: the job's name, no role). `ip`: the
    client address of the request that sent it, audited with the command wherever it runs."""

    actor_type: str  # user | system
    actor_id: str
    role: str | None = None
    ip: str | None = None


class AuditRecord(msgspec.Struct, frozen=True):
    id: int
    occurred_at: datetime
    entry: AuditEntry


class OutboxMessage(msgspec.Struct, frozen=True):
    """A domain event to publish once the DB transaction that wrote it commits."""

    subject: str
    payload: dict[str, Any]
