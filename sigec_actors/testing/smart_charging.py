"""In-memory smart charging for API tests: profiles and site limits in dicts, no actors."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from sigec_actors.ocpp.generated import v201
from sigec_actors.smart_charging.profiles import StationLimits
from sigec_actors.smart_charging.site_actor import LoadView
from sigec_actors.smart_charging.store import ProfileCriteria, SiteLimits, StoredProfile


class InMemoryProfileStore:
    """The parts of PgSmartCharging the REST routes use."""

    def __init__(self, locations: set[UUID] | None = None) -> None:
        self.rows: dict[tuple[str, int], StoredProfile] = {}
        self.locations = locations if locations is not None else set()
        self.sites: dict[UUID, SiteLimits] = {}
        self.station_locations: dict[str, UUID] = {}

    async def station_limits(self, station_id: str) -> StationLimits:
        return StationLimits()

    async def save_profile(self, station_id: str, evse_id: int, profile: v201.ChargingProfile,
                           source: str, status: str = "Accepted") -> None:
        self.rows[(station_id, profile.id)] = StoredProfile(
            charge_point_id=station_id, profile_id=profile.id, evse_id=evse_id,
            purpose=profile.charging_profile_purpose.value, stack_level=profile.stack_level,
            kind=profile.charging_profile_kind.value, transaction_id=profile.transaction_id,
            valid_from=profile.valid_from, valid_to=profile.valid_to,
            profile=msgspec.to_builtins(profile), source=source, status=status,
            limit_source=None, reported_at=None, updated_at=datetime.now(UTC))

    async def profiles(self, station_id: str) -> list[StoredProfile]:
        return [r for (sid, _), r in sorted(self.rows.items()) if sid == station_id]

    async def clear(self, station_id: str, profile_id: int | None,
                    criteria: ProfileCriteria | None) -> int:
        c = criteria or ProfileCriteria()
        gone = [key for key, r in self.rows.items() if key[0] == station_id
                and profile_id in (None, r.profile_id) and c.evse_id in (None, r.evse_id)
                and c.purpose in (None, r.purpose) and c.stack_level in (None, r.stack_level)]
        for key in gone:
            del self.rows[key]
        return len(gone)

    async def put_site(self, limits: SiteLimits) -> bool:
        if limits.location_id not in self.locations:
            return False
        self.sites[limits.location_id] = limits
        return True

    async def site(self, location_id: UUID) -> SiteLimits | None:
        return self.sites.get(location_id)

    async def location_exists(self, location_id: UUID) -> bool:
        return location_id in self.locations

    async def link_station(self, location_id: UUID, station_id: str) -> bool:
        self.station_locations[station_id] = location_id
        return True


class StillSites:
    """Sites without actors: the load of a site is its limit with nothing allocated."""

    def __init__(self, store: InMemoryProfileStore) -> None:
        self._store = store

    async def load(self, location_id: UUID) -> LoadView | None:
        limits = self._store.sites.get(location_id)
        if limits is None:
            return None
        return LoadView(limit_w=limits.grid_limit_w, allocated_w=0, measured_w=0, external_w=0,
                        strategy=limits.strategy.value, min_per_evse_w=limits.min_per_evse_w,
                        evses=[])

    async def limits_changed(self, location_id: UUID) -> None:
        return None


class InMemorySmartCharging:
    """What the REST layer finds under extras["smart_charging"] (store and sites)."""

    def __init__(self, locations: set[UUID] | None = None) -> None:
        self.store = InMemoryProfileStore(locations)
        self.sites = StillSites(self.store)
