"""PostgreSQL repository for locations, charge points, their credentials and connectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sigec_actors.adapters import pg_station_batch
from sigec_actors.adapters.pg import (
    ForeignKeyViolation,
    UniqueViolation,
    to_record,
    transaction,
    write_events,
)
from sigec_actors.charge_point.store import StationSnapshot, StationWrite
from sigec_actors.domain.errors import StationExists, UnknownStation
from sigec_actors.domain.records import (
    BootInfo,
    Connector,
    ConnectorStatus,
    Location,
    NewLocation,
    NewStation,
    OutboxMessage,
    Station,
    StationCredentials,
    StationDistance,
)
from sigec_actors.ports import DbConn, DbPool

_STATION = (
    "SELECT cp.*, coalesce(sc.security_profile, 0) AS security_profile"
    " FROM charge_points cp LEFT JOIN station_credentials sc ON sc.charge_point_id = cp.id"
)
_CONNECTOR = (
    "SELECT charge_point_id AS station_id, evse_id, connector_id, status, status_changed_at,"
    " type, max_power_w FROM connectors"
)
# Great-circle distance in km (haversine, mean Earth radius 6371.0088 km).
_NEARBY = """
SELECT * FROM (
    SELECT cp.*, coalesce(sc.security_profile, 0) AS security_profile,
           to_jsonb(l) AS location_json,
           2 * 6371.0088 * asin(sqrt(power(sin(radians(l.latitude - $1) / 2), 2)
               + cos(radians($1)) * cos(radians(l.latitude))
               * power(sin(radians(l.longitude - $2) / 2), 2))) AS distance_km
    FROM charge_points cp
    JOIN locations l ON l.id = cp.location_id
    LEFT JOIN station_credentials sc ON sc.charge_point_id = cp.id
) d
WHERE distance_km <= $3
ORDER BY distance_km, id
LIMIT $4
"""


class PgStationRepository:
    """StationRepository on PostgreSQL, with bulk variants for the hot paths (StationBatches)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def add_location(self, new: NewLocation) -> Location:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO locations (name, latitude, longitude, address, city, state,"
                " postal_code) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                new.name, new.latitude, new.longitude, new.address, new.city, new.state,
                new.postal_code)
        return to_record(row, Location)

    async def get_location(self, location_id: UUID) -> Location | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM locations WHERE id = $1", location_id)
        return None if row is None else to_record(row, Location)

    async def register(self, new: NewStation) -> Station:
        async with transaction(self._pool) as conn:
            try:
                await conn.execute(
                    "INSERT INTO charge_points (id, vendor, model, location_id)"
                    " VALUES ($1, $2, $3, $4)", new.id, new.vendor, new.model, new.location_id)
            except UniqueViolation as exc:
                raise StationExists(new.id) from exc
            await conn.execute(
                "INSERT INTO station_credentials (charge_point_id, password_hash,"
                " security_profile) VALUES ($1, $2, $3)",
                new.id, new.password_hash, new.security_profile)
            station = await _get(conn, new.id)
        assert station is not None
        return station

    async def get(self, station_id: str) -> Station | None:
        async with self._pool.acquire() as conn:
            return await _get(conn, station_id)

    async def credentials(self, station_id: str) -> StationCredentials | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT charge_point_id AS station_id, security_profile, password_hash"
                " FROM station_credentials WHERE charge_point_id = $1", station_id)
        return None if row is None else to_record(row, StationCredentials)

    async def page(self, limit: int = 50, offset: int = 0, *,
                   online: bool | None = None) -> list[Station]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _STATION + " WHERE ($3::boolean IS NULL OR cp.online = $3)"
                " ORDER BY cp.id LIMIT $1 OFFSET $2", limit, offset, online)
        return [to_record(r, Station) for r in rows]

    async def count(self, *, online: bool | None = None) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM charge_points WHERE ($1::boolean IS NULL OR online = $1)",
                online))

    async def nearby(self, latitude: float, longitude: float, radius_km: float,
                     limit: int = 50) -> list[StationDistance]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_NEARBY, latitude, longitude, radius_km, limit)
        return [StationDistance(to_record(r, Station), to_record(r["location_json"], Location),
                                float(r["distance_km"])) for r in rows]

    async def update_boot_info(self, station_id: str, boot: BootInfo, now: datetime,
                               events: Sequence[OutboxMessage] = ()) -> None:
        async with transaction(self._pool) as conn:
            done = await conn.execute(
                "UPDATE charge_points SET vendor = $2, model = $3, serial_number = $4,"
                " firmware_version = $5, iccid = $6, imsi = $7, boot_reason = $8,"
                " last_boot_at = $9, last_seen = $9, online = true WHERE id = $1",
                station_id, boot.vendor, boot.model, boot.serial_number, boot.firmware_version,
                boot.iccid, boot.imsi, boot.reason, now)
            _found(done, station_id)
            await write_events(conn, events)

    async def set_online(self, station_id: str, online: bool, now: datetime,
                         events: Sequence[OutboxMessage] = ()) -> None:
        async with transaction(self._pool) as conn:
            done = await conn.execute(
                "UPDATE charge_points SET online = $2, last_seen = $3 WHERE id = $1",
                station_id, online, now)
            _found(done, station_id)
            await write_events(conn, events)

    async def touch(self, station_id: str, now: datetime) -> None:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE charge_points SET last_seen = greatest(last_seen, $2) WHERE id = $1",
                station_id, now)
        _found(done, station_id)

    async def set_connector_status(self, station_id: str, evse_id: int, connector_id: int,
                                   status: ConnectorStatus, *, now: datetime,
                                   events: Sequence[OutboxMessage] = ()) -> Connector:
        async with transaction(self._pool) as conn:
            try:
                row = await conn.fetchrow(
                    "INSERT INTO connectors AS c (charge_point_id, evse_id, connector_id, status,"
                    " status_changed_at) VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (charge_point_id, evse_id, connector_id) DO UPDATE"
                    " SET status = EXCLUDED.status, status_changed_at = EXCLUDED.status_changed_at"
                    " RETURNING charge_point_id AS station_id, evse_id, connector_id, status,"
                    " status_changed_at, type, max_power_w",
                    station_id, evse_id, connector_id, status.value, now)
            except ForeignKeyViolation as exc:
                raise UnknownStation(station_id) from exc
            await write_events(conn, events)
        return to_record(row, Connector)

    async def snapshots(self, station_ids: Sequence[str]) -> dict[str, StationSnapshot]:
        """Rows and connectors of many stations in one query (absent ids are left out)."""
        return await pg_station_batch.snapshots(self._pool, station_ids)

    async def write_batch(self, writes: Sequence[StationWrite]) -> list[Exception | None]:
        """Many stations' boot/online/status changes and their events in one transaction."""
        return await pg_station_batch.write_batch(self._pool, writes)

    async def credentials_many(self, station_ids: Sequence[str]
                               ) -> dict[str, StationCredentials]:
        """Credentials of many stations in one query (absent ids are left out)."""
        return await pg_station_batch.credentials(self._pool, station_ids)

    async def touch_many(self, seen: Sequence[tuple[str, datetime]]) -> None:
        """`touch` for many stations in one statement; unknown ids are ignored."""
        await pg_station_batch.touch(self._pool, seen)

    async def connectors(self, station_id: str) -> list[Connector]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _CONNECTOR + " WHERE charge_point_id = $1 ORDER BY evse_id, connector_id",
                station_id)
        return [to_record(r, Connector) for r in rows]

    async def connectors_many(self, station_ids: Sequence[str]) -> dict[str, list[Connector]]:
        """`connectors` of many stations in one statement (GraphQL's batched loading)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _CONNECTOR + " WHERE charge_point_id = ANY($1::text[])"
                " ORDER BY charge_point_id, evse_id, connector_id", list(station_ids))
        out: dict[str, list[Connector]] = {s: [] for s in station_ids}
        for r in rows:
            out[r["station_id"]].append(to_record(r, Connector))
        return out

    async def set_credentials(self, station_id: str, password_hash: str | None,
                              security_profile: int) -> None:
        async with self._pool.acquire() as conn:
            try:
                await conn.execute(
                    "INSERT INTO station_credentials (charge_point_id, password_hash,"
                    " security_profile) VALUES ($1, $2, $3) ON CONFLICT (charge_point_id)"
                    " DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                    " security_profile = EXCLUDED.security_profile, updated_at = now()",
                    station_id, password_hash, security_profile)
            except ForeignKeyViolation as exc:
                raise UnknownStation(station_id) from exc


    async def set_admin_status(self, station_id: str, admin_status: str) -> None:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE charge_points SET admin_status = $2 WHERE id = $1",
                station_id, admin_status)
        if done == "UPDATE 0":
            raise UnknownStation(station_id)


async def _get(conn: DbConn, station_id: str) -> Station | None:
    row = await conn.fetchrow(_STATION + " WHERE cp.id = $1", station_id)
    return None if row is None else to_record(row, Station)


def _found(status: str, station_id: str) -> None:
    if status.endswith(" 0"):
        raise UnknownStation(station_id)
