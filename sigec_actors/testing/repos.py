"""In-memory fakes of the persistence ports; they pass the same contract tests as PostgreSQL."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from msgspec.structs import replace

from sigec_actors.domain import errors as e
from sigec_actors.domain.records import (
    AuditEntry,
    AuditRecord,
    BootInfo,
    Connector,
    ConnectorStatus,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Location,
    NewLocation,
    NewStation,
    NewUser,
    OutboxMessage,
    RefreshToken,
    Role,
    Station,
    StationCredentials,
    StationDistance,
    User,
    UserStatus,
)
from sigec_actors.domain.rules import rotation_failure
from sigec_actors.ports import DbConn

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class InMemoryOutbox:
    """Outbox fake: `messages` in insertion order; nothing is ever relayed."""

    def __init__(self) -> None:
        self.messages: list[tuple[UUID, OutboxMessage]] = []

    async def add(self, conn: DbConn | None, subject: str, payload: Mapping[str, Any]) -> UUID:
        return self.extend([OutboxMessage(subject, dict(payload))])[0]

    def extend(self, events: Sequence[OutboxMessage]) -> list[UUID]:
        ids = [uuid.uuid4() for _ in events]
        self.messages.extend(zip(ids, events, strict=True))
        return ids

    async def pending_count(self) -> int:
        return len(self.messages)

    def subjects(self) -> list[str]:
        return [m.subject for _, m in self.messages]


class InMemoryUsers:
    def __init__(self, now: Now = utcnow) -> None:
        self._now = now
        self._by_id: dict[UUID, User] = {}

    async def create(self, new: NewUser) -> User:
        if await self.get_by_email(new.email) is not None:
            raise e.EmailTaken(new.email)
        t = self._now()
        user = User(uuid.uuid4(), new.name, new.email, new.password_hash, new.role,
                    UserStatus.ACTIVE, t, t)
        self._by_id[user.id] = user
        return user

    async def get(self, user_id: UUID) -> User | None:
        return self._by_id.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._by_id.values() if u.email.lower() == email.lower()), None)

    async def page(self, limit: int = 50, offset: int = 0) -> list[User]:
        ordered = sorted(self._by_id.values(), key=lambda u: (u.created_at, str(u.id)))
        return ordered[offset:offset + limit]

    async def count(self) -> int:
        return len(self._by_id)

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        self._update(user_id, password_hash=password_hash)

    async def set_role(self, user_id: UUID, role: Role) -> None:
        self._update(user_id, role=role)

    async def set_status(self, user_id: UUID, status: UserStatus) -> None:
        self._update(user_id, status=status)

    def _update(self, user_id: UUID, **changes: Any) -> None:
        if user_id not in self._by_id:
            raise e.UnknownUser(user_id)
        self._by_id[user_id] = replace(self._by_id[user_id], updated_at=self._now(), **changes)


def _km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


class InMemoryStations:
    def __init__(self, now: Now = utcnow, outbox: InMemoryOutbox | None = None) -> None:
        self._now = now
        self.outbox = outbox or InMemoryOutbox()
        self._locations: dict[UUID, Location] = {}
        self._stations: dict[str, Station] = {}
        self._creds: dict[str, StationCredentials] = {}
        self._connectors: dict[tuple[str, int, int], Connector] = {}

    async def add_location(self, new: NewLocation) -> Location:
        loc = Location(uuid.uuid4(), new.name, new.latitude, new.longitude, new.address,
                       new.city, new.state, new.postal_code)
        self._locations[loc.id] = loc
        return loc

    async def get_location(self, location_id: UUID) -> Location | None:
        return self._locations.get(location_id)

    async def register(self, new: NewStation) -> Station:
        if new.id in self._stations:
            raise e.StationExists(new.id)
        self._stations[new.id] = Station(
            new.id, new.vendor, new.model, None, None, new.location_id, "Operative",
            new.security_profile, False, None, None, None, self._now())
        self._creds[new.id] = StationCredentials(new.id, new.security_profile, new.password_hash)
        return self._stations[new.id]

    async def get(self, station_id: str) -> Station | None:
        return self._stations.get(station_id)

    async def credentials(self, station_id: str) -> StationCredentials | None:
        return self._creds.get(station_id)

    async def page(self, limit: int = 50, offset: int = 0, *,
                   online: bool | None = None) -> list[Station]:
        rows = [s for _, s in sorted(self._stations.items())
                if online is None or s.online == online]
        return rows[offset:offset + limit]

    async def count(self, *, online: bool | None = None) -> int:
        return len(await self.page(limit=len(self._stations), online=online))

    async def nearby(self, latitude: float, longitude: float, radius_km: float,
                     limit: int = 50) -> list[StationDistance]:
        found = []
        for s in self._stations.values():
            loc = self._locations.get(s.location_id) if s.location_id else None
            if loc is not None:
                d = _km(latitude, longitude, loc.latitude, loc.longitude)
                if d <= radius_km:
                    found.append(StationDistance(s, loc, d))
        return sorted(found, key=lambda x: (x.distance_km, x.station.id))[:limit]

    async def update_boot_info(self, station_id: str, boot: BootInfo, now: datetime,
                               events: Sequence[OutboxMessage] = ()) -> None:
        self._update(station_id, vendor=boot.vendor, model=boot.model,
                     serial_number=boot.serial_number, firmware_version=boot.firmware_version,
                     boot_reason=boot.reason, last_boot_at=now, last_seen=now, online=True)
        self.outbox.extend(events)

    async def set_online(self, station_id: str, online: bool, now: datetime,
                         events: Sequence[OutboxMessage] = ()) -> None:
        self._update(station_id, online=online, last_seen=now)
        self.outbox.extend(events)

    async def touch(self, station_id: str, now: datetime) -> None:
        seen = self._get(station_id).last_seen
        self._update(station_id, last_seen=now if seen is None else max(seen, now))

    async def set_connector_status(self, station_id: str, evse_id: int, connector_id: int,
                                   status: ConnectorStatus, *, now: datetime,
                                   events: Sequence[OutboxMessage] = ()) -> Connector:
        self._get(station_id)
        key = (station_id, evse_id, connector_id)
        old = self._connectors.get(key)
        c = (Connector(station_id, evse_id, connector_id, status, now) if old is None
             else replace(old, status=status, status_changed_at=now))
        self._connectors[key] = c
        self.outbox.extend(events)
        return c

    async def connectors(self, station_id: str) -> list[Connector]:
        return [c for k, c in sorted(self._connectors.items()) if k[0] == station_id]

    async def connectors_many(self, station_ids: Sequence[str]) -> dict[str, list[Connector]]:
        return {s: await self.connectors(s) for s in station_ids}

    async def set_credentials(self, station_id: str, password_hash: str | None,
                              security_profile: int) -> None:
        self._update(station_id, security_profile=security_profile)
        self._creds[station_id] = StationCredentials(station_id, security_profile, password_hash)

    async def set_admin_status(self, station_id: str, admin_status: str) -> None:
        self._update(station_id, admin_status=admin_status)

    def _get(self, station_id: str) -> Station:
        if station_id not in self._stations:
            raise e.UnknownStation(station_id)
        return self._stations[station_id]

    def _update(self, station_id: str, **changes: Any) -> None:
        self._stations[station_id] = replace(self._get(station_id), **changes)


class InMemoryIdTokens:
    def __init__(self, now: Now = utcnow) -> None:
        self._now = now
        self._tokens: dict[UUID, IdToken] = {}

    async def add(self, user_id: UUID, id_token: str, token_type: IdTokenType, *,
                  status: IdTokenStatus = IdTokenStatus.ACCEPTED,
                  expires_at: datetime | None = None) -> IdToken:
        if await self.find(id_token, token_type) is not None:
            raise e.IdTokenTaken(id_token, token_type.value)
        tok = IdToken(uuid.uuid4(), user_id, id_token, token_type, status, expires_at, self._now())
        self._tokens[tok.id] = tok
        return tok

    async def find(self, id_token: str, token_type: IdTokenType) -> IdToken | None:
        return next((t for t in self._tokens.values()
                     if t.id_token == id_token and t.type == token_type), None)

    async def get(self, token_id: UUID) -> IdToken | None:
        return self._tokens.get(token_id)

    async def list_for_user(self, user_id: UUID) -> list[IdToken]:
        return sorted((t for t in self._tokens.values() if t.user_id == user_id),
                      key=lambda t: (t.created_at, str(t.id)))

    async def set_status(self, token_id: UUID, status: IdTokenStatus) -> bool:
        if token_id not in self._tokens:
            return False
        self._tokens[token_id] = replace(self._tokens[token_id], status=status)
        return True

    async def remove(self, user_id: UUID, token_id: UUID) -> bool:
        tok = self._tokens.get(token_id)
        if tok is None or tok.user_id != user_id:
            return False
        del self._tokens[token_id]
        return True


class InMemoryRefreshTokens:
    def __init__(self) -> None:
        self._by_hash: dict[bytes, RefreshToken] = {}

    async def issue(self, user_id: UUID, token_hash: bytes, issued_at: datetime,
                    expires_at: datetime, family_id: UUID | None = None) -> RefreshToken:
        return self._insert(RefreshToken(uuid.uuid4(), user_id, family_id or uuid.uuid4(), None,
                                         token_hash, issued_at, expires_at))

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        return self._by_hash.get(token_hash)

    async def rotate(self, token_hash: bytes, new_token_hash: bytes, now: datetime,
                     expires_at: datetime) -> RefreshToken:
        old = self._by_hash.get(token_hash)
        failure = rotation_failure(old, now)
        if isinstance(failure, e.RefreshTokenReused) and failure.family_id is not None:
            await self.revoke_family(failure.family_id, now, "reuse detected")
        if failure is not None:
            raise failure
        assert old is not None
        self._by_hash[token_hash] = replace(old, rotated_at=now)
        return self._insert(RefreshToken(uuid.uuid4(), old.user_id, old.family_id, old.id,
                                         new_token_hash, now, expires_at))

    async def revoke(self, token_hash: bytes, now: datetime, reason: str = "logout") -> bool:
        return self._revoke(lambda t: t.token_hash == token_hash, now, reason) > 0

    async def revoke_family(self, family_id: UUID, now: datetime, reason: str) -> int:
        return self._revoke(lambda t: t.family_id == family_id, now, reason)

    async def revoke_user(self, user_id: UUID, now: datetime, reason: str) -> int:
        return self._revoke(lambda t: t.user_id == user_id, now, reason)

    def _insert(self, token: RefreshToken) -> RefreshToken:
        if token.token_hash in self._by_hash:
            raise ValueError("refresh token hash already stored")
        self._by_hash[token.token_hash] = token
        return token

    def _revoke(self, pick: Callable[[RefreshToken], bool], now: datetime, reason: str) -> int:
        hits = [t for t in self._by_hash.values() if pick(t) and t.revoked_at is None]
        for t in hits:
            self._by_hash[t.token_hash] = replace(t, revoked_at=now, revoked_reason=reason)
        return len(hits)


class InMemoryAuditLog:
    def __init__(self, now: Now = utcnow) -> None:
        self._now = now
        self.records: list[AuditRecord] = []

    async def record(self, entry: AuditEntry, conn: DbConn | None = None) -> None:
        self.records.append(AuditRecord(len(self.records) + 1, self._now(), entry))

    async def recent(self, limit: int = 50, *, target_type: str | None = None,
                     target_id: str | None = None) -> list[AuditRecord]:
        rows = [r for r in reversed(self.records)
                if (target_type is None or r.entry.target_type == target_type)
                and (target_id is None or r.entry.target_id == target_id)]
        return rows[:limit]
