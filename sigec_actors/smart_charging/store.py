"""PostgreSQL for smart charging: profiles, site limits, external limits, EV schedules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.smart_charging.allocation import SitePolicy, Strategy
from sigec_actors.smart_charging.profiles import StationLimits, limits_of
from sigec_actors.smart_charging.schedule import TariffWindow


class StoredProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A row of charging_profiles (`profile` is the OCPP ChargingProfile as JSON)."""

    charge_point_id: str
    profile_id: int
    evse_id: int
    purpose: str
    stack_level: int
    kind: str
    transaction_id: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    profile: dict[str, Any]
    source: str
    status: str
    limit_source: str | None
    reported_at: datetime | None
    updated_at: datetime


class SiteLimits(msgspec.Struct, frozen=True, kw_only=True):
    """A location's limit row."""

    location_id: UUID
    grid_limit_w: int
    strategy: Strategy
    min_per_evse_w: int
    max_per_evse_w: int

    @property
    def policy(self) -> SitePolicy:
        return SitePolicy(limit_w=self.grid_limit_w, strategy=self.strategy,
                          floor_w=self.min_per_evse_w)


class ActiveSession(msgspec.Struct, frozen=True, kw_only=True):
    """An active transaction at a site (for a site actor's start)."""

    charge_point_id: str
    evse_id: int
    transaction_id: str
    online: bool


class ProfileCriteria(msgspec.Struct, frozen=True, kw_only=True):
    """ClearChargingProfile's criteria (every given field must match)."""

    evse_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


_PROFILE_UPSERT = """
INSERT INTO charging_profiles (charge_point_id, profile_id, evse_id, purpose, stack_level, kind,
    transaction_id, valid_from, valid_to, profile, source, status, limit_source, reported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (charge_point_id, profile_id) DO UPDATE SET evse_id = EXCLUDED.evse_id,
    purpose = EXCLUDED.purpose, stack_level = EXCLUDED.stack_level, kind = EXCLUDED.kind,
    transaction_id = EXCLUDED.transaction_id, valid_from = EXCLUDED.valid_from,
    valid_to = EXCLUDED.valid_to, profile = EXCLUDED.profile,
    source = CASE WHEN EXCLUDED.source = 'station' THEN charging_profiles.source
                  ELSE EXCLUDED.source END,
    status = CASE WHEN EXCLUDED.source = 'station' AND charging_profiles.source <> 'station'
                  THEN charging_profiles.status ELSE EXCLUDED.status END,
    limit_source = COALESCE(EXCLUDED.limit_source, charging_profiles.limit_source),
    reported_at = COALESCE(EXCLUDED.reported_at, charging_profiles.reported_at),
    updated_at = now()
"""


def _profile_args(station_id: str, evse_id: int, profile: v201.ChargingProfile, source: str,
                  status: str, limit_source: str | None = None,
                  reported_at: datetime | None = None) -> tuple[Any, ...]:
    return (station_id, profile.id, evse_id, profile.charging_profile_purpose.value,
            profile.stack_level, profile.charging_profile_kind.value, profile.transaction_id,
            profile.valid_from, profile.valid_to, msgspec.to_builtins(profile), source, status,
            limit_source, reported_at)


class PgSmartCharging:
    """Every smart-charging table; one short statement (or transaction) per call."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    # -- profiles -------------------------------------------------------------------------

    async def save_profile(self, station_id: str, evse_id: int, profile: v201.ChargingProfile,
                           source: str, status: str = "Accepted") -> None:
        """Store a profile the station accepted (a profile with its id is replaced, and so is
        the one on its EVSE with its purpose and stack level, as the station does)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM charging_profiles WHERE charge_point_id = $1 AND evse_id = $2"
                " AND purpose = $3 AND stack_level = $4 AND profile_id <> $5",
                station_id, evse_id, profile.charging_profile_purpose.value,
                profile.stack_level, profile.id)
            await conn.execute(_PROFILE_UPSERT,
                               *_profile_args(station_id, evse_id, profile, source, status))

    async def save_profiles(self, rows: Sequence[tuple[str, int, v201.ChargingProfile, str]]
                            ) -> None:
        """`save_profile` for many (station, EVSE, profile, source) in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "DELETE FROM charging_profiles WHERE charge_point_id = $1 AND evse_id = $2"
                " AND purpose = $3 AND stack_level = $4 AND profile_id <> $5",
                [(sid, evse, p.charging_profile_purpose.value, p.stack_level, p.id)
                 for sid, evse, p, _source in rows])
            await conn.executemany(_PROFILE_UPSERT, [
                _profile_args(sid, evse, p, source, "Accepted") for sid, evse, p, source in rows])

    async def reported(self, station_id: str, evse_id: int, limit_source: str,
                       profiles: Sequence[v201.ChargingProfile], at: datetime) -> None:
        """ReportChargingProfiles: each profile is upserted (ours keep their source)."""
        async with self._pool.acquire() as conn:
            await conn.executemany(_PROFILE_UPSERT, [
                _profile_args(station_id, evse_id, p, "station", "Reported", limit_source, at)
                for p in profiles])

    async def profiles(self, station_id: str) -> list[StoredProfile]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM charging_profiles WHERE charge_point_id = $1"
                " ORDER BY evse_id, purpose, stack_level, profile_id", station_id)
        return [msgspec.convert(dict(r), StoredProfile, strict=False) for r in rows]

    async def clear(self, station_id: str, profile_id: int | None,
                    criteria: ProfileCriteria | None) -> int:
        """Delete what a ClearChargingProfile removed; the number of rows deleted."""
        c = criteria or ProfileCriteria()
        async with self._pool.acquire() as conn:
            result = await conn.execute(
                "DELETE FROM charging_profiles WHERE charge_point_id = $1"
                " AND ($2::int IS NULL OR profile_id = $2)"
                " AND ($3::int IS NULL OR evse_id = $3)"
                " AND ($4::text IS NULL OR purpose = $4)"
                " AND ($5::int IS NULL OR stack_level = $5)",
                station_id, profile_id, c.evse_id, c.purpose, c.stack_level)
        return int(str(result).rsplit(" ", 1)[-1])

    async def end_transaction(self, station_id: str, transaction_id: str) -> None:
        """A TxProfile ends with its transaction (the station drops it too)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM charging_profiles WHERE charge_point_id = $1"
                " AND purpose = 'TxProfile' AND transaction_id = $2", station_id, transaction_id)

    async def station_limits(self, station_id: str) -> StationLimits:
        """SmartChargingCtrlr's RateUnit, PeriodsPerSchedule and ProfileStackLevel as the
        station reported them (device model), else the defaults."""
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT variable, value FROM device_variables WHERE charge_point_id = $1"
                    " AND component = 'SmartChargingCtrlr' AND attribute_type = 'Actual'",
                    station_id)
        except asyncpg.UndefinedTableError:  # a database without the device model (0018)
            return StationLimits()
        return limits_of({r["variable"]: r["value"] for r in rows if r["value"] is not None})

    # -- sites ----------------------------------------------------------------------------

    async def put_site(self, limits: SiteLimits) -> bool:
        """Set a location's limit; False when there is no such location."""
        async with self._pool.acquire() as conn:
            try:
                await conn.execute(
                    "INSERT INTO site_limits (location_id, grid_limit_w, strategy,"
                    " min_per_evse_w, max_per_evse_w) VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (location_id) DO UPDATE SET grid_limit_w = $2, strategy = $3,"
                    " min_per_evse_w = $4, max_per_evse_w = $5, updated_at = now()",
                    limits.location_id, limits.grid_limit_w, limits.strategy.value,
                    limits.min_per_evse_w, limits.max_per_evse_w)
            except asyncpg.ForeignKeyViolationError:
                return False
        return True

    async def site(self, location_id: UUID) -> SiteLimits | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM site_limits WHERE location_id = $1",
                                      location_id)
        return None if row is None else msgspec.convert(
            {k: v for k, v in dict(row).items() if k != "updated_at"}, SiteLimits, strict=False)

    async def location_exists(self, location_id: UUID) -> bool:
        async with self._pool.acquire() as conn:
            return bool(await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM locations WHERE id = $1)", location_id))

    async def location_of(self, station_id: str) -> UUID | None:
        """The station's location when that location has a limit (else None)."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT s.location_id FROM charge_points cp JOIN site_limits s"
                " ON s.location_id = cp.location_id WHERE cp.id = $1", station_id)
        return value if isinstance(value, UUID) else None

    async def link_station(self, location_id: UUID, station_id: str) -> bool:
        """Put a registered station at a location; False when the station is unknown."""
        async with self._pool.acquire() as conn:
            result = await conn.execute(
                "UPDATE charge_points SET location_id = $1 WHERE id = $2", location_id,
                station_id)
        return str(result) == "UPDATE 1"

    async def active_sessions(self, location_id: UUID) -> list[ActiveSession]:
        """The active transactions at the location's stations (a site actor's start)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT t.charge_point_id, t.evse_id, t.station_transaction_id AS"
                " transaction_id, cp.online FROM transactions t JOIN charge_points cp"
                " ON cp.id = t.charge_point_id WHERE cp.location_id = $1"
                " AND t.status = 'Active' AND t.evse_id IS NOT NULL"
                " ORDER BY t.started_at NULLS LAST", location_id)
        return [msgspec.convert(dict(r), ActiveSession) for r in rows]

    async def online_stations(self, location_id: UUID) -> list[str]:
        """The location's stations connected now (as the nodes last recorded it)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT id FROM charge_points WHERE location_id = $1"
                                    " AND online ORDER BY id", location_id)
        return [str(r["id"]) for r in rows]

    async def external_limits_w(self, location_id: UUID) -> int:
        """The site's budget taken by external limits (sum of their W, one per station)."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT COALESCE(sum(e.limit_w), 0) FROM external_charging_limits e"
                " JOIN charge_points cp ON cp.id = e.charge_point_id"
                " WHERE cp.location_id = $1 AND e.limit_w IS NOT NULL", location_id)
        return int(value or 0)

    # -- what stations tell us ------------------------------------------------------------

    async def external_limit(self, station_id: str, evse_id: int, source: str,
                             grid_critical: bool | None, limit_w: int | None,
                             schedules: Any) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO external_charging_limits (charge_point_id, evse_id, limit_source,"
                " grid_critical, limit_w, schedules) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (charge_point_id, evse_id, limit_source) DO UPDATE SET"
                " grid_critical = $4, limit_w = $5, schedules = $6, received_at = now()",
                station_id, evse_id, source, grid_critical, limit_w, schedules)

    async def external_cleared(self, station_id: str, evse_id: int | None, source: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM external_charging_limits WHERE charge_point_id = $1"
                " AND limit_source = $2 AND ($3::int IS NULL OR evse_id = $3)",
                station_id, source, evse_id)

    async def ev_schedule(self, station_id: str, evse_id: int, time_base: datetime,
                          schedule: Any) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO ev_charging_schedules (charge_point_id, evse_id, time_base,"
                " schedule) VALUES ($1, $2, $3, $4) ON CONFLICT (charge_point_id, evse_id)"
                " DO UPDATE SET time_base = $3, schedule = $4, received_at = now()",
                station_id, evse_id, time_base, schedule)

    async def tariff_windows(self, station_id: str, evse_id: int, start: datetime,
                             end: datetime) -> list[TariffWindow]:
        """The per-kWh tariffs that may apply to the EVSE between `start` and `end`."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT valid_from, valid_to, price_per_kwh_centavos,"
                " (charge_point_id IS NOT NULL)::int + (evse_id IS NOT NULL)::int AS specificity"
                " FROM tariffs WHERE (charge_point_id IS NULL OR charge_point_id = $1)"
                " AND (evse_id IS NULL OR evse_id = $2) AND connector_id IS NULL"
                " AND valid_from < $4 AND (valid_to IS NULL OR valid_to > $3)",
                station_id, evse_id, start, end)
        return [msgspec.convert(dict(r), TariffWindow) for r in rows]

    async def running_transaction(self, station_id: str, evse_id: int) -> str | None:
        """The station's transaction id active on the EVSE, if any."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT station_transaction_id FROM transactions WHERE charge_point_id = $1"
                " AND evse_id = $2 AND status = 'Active' ORDER BY started_at DESC NULLS LAST"
                " LIMIT 1", station_id, evse_id)
        return value if isinstance(value, str) else None
