"""Builds a node's smart charging: the store, the sites, the station handlers, REST ports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool, EventBus
from sigec_actors.runtime import ActorDead, MailboxFull, SupervisorAt
from sigec_actors.smart_charging.allocation import EvseKey
from sigec_actors.smart_charging.handlers import SmartChargingHandlers
from sigec_actors.smart_charging.owners import SiteLocks
from sigec_actors.smart_charging.schedule import EvPlan, ev_profile, hour_costs
from sigec_actors.smart_charging.site import SendDefault, SendLimit
from sigec_actors.smart_charging.site_actor import SiteDeps
from sigec_actors.smart_charging.sites import LocationIndex, Sites
from sigec_actors.smart_charging.store import PgSmartCharging
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g.pricing import GridPrices, Submarket

log = structlog.get_logger("smart_charging")
EXTRAS_KEY = "smart_charging"
SITE_STACK_LEVEL = 50
"""The site's TxProfiles: above an operator's usual 0..49, below the EV plan's 60."""
SITE_PROFILE_ID_BASE = 900_000
"""A site's TxProfile id on a station is this + the EVSE id (one per EVSE, replaced)."""
SEND_FAILURES: tuple[type[BaseException], ...] = (SigecError, ActorDead, MailboxFull)


def site_profile(limit: SendLimit) -> v201.ChargingProfile:
    """The site's TxProfile for one EVSE: Relative, one period at `watts` W."""
    return v201.ChargingProfile(
        id=SITE_PROFILE_ID_BASE + limit.evse_id, stack_level=SITE_STACK_LEVEL,
        charging_profile_purpose=v201.ChargingProfilePurposeEnum.TX_PROFILE,
        charging_profile_kind=v201.ChargingProfileKindEnum.RELATIVE,
        transaction_id=limit.transaction_id,
        charging_schedule=(v201.ChargingSchedule(
            id=1, charging_rate_unit=v201.ChargingRateUnitEnum.W,
            charging_schedule_period=(v201.ChargingSchedulePeriod(
                start_period=0, limit=float(limit.watts)),)),))


def default_profile(default: SendDefault) -> v201.ChargingProfile:
    """The site's TxDefaultProfile: what a new session may draw before its allocation."""
    return v201.ChargingProfile(
        id=SITE_PROFILE_ID_BASE, stack_level=SITE_STACK_LEVEL,
        charging_profile_purpose=v201.ChargingProfilePurposeEnum.TX_DEFAULT_PROFILE,
        charging_profile_kind=v201.ChargingProfileKindEnum.RELATIVE,
        charging_schedule=(v201.ChargingSchedule(
            id=1, charging_rate_unit=v201.ChargingRateUnitEnum.W,
            charging_schedule_period=(v201.ChargingSchedulePeriod(
                start_period=0, limit=float(default.watts)),)),))


class SmartChargingWiring:
    """The node's smart-charging objects; `commander` is looked up at each use (the node
    builds its router after the charge points)."""

    def __init__(self, pool: DbPool, supervisor: SupervisorAt,
                 commander: Callable[[], Commander], *, prices: GridPrices,
                 submarket: Callable[[str], Awaitable[Submarket | None]],
                 default_submarket: Submarket, bus: EventBus | None = None) -> None:
        """With `bus`, one node of the cluster runs each site (SiteLocks) and the others
        forward their stations' events to it."""
        self.store = PgSmartCharging(pool)
        self._commander = commander
        self._grid, self._submarket, self._default = prices, submarket, default_submarket
        self.sites = Sites(supervisor, SiteDeps(self.store, self.send_limit, self.record,
                                                self.send_default),
                           LocationIndex(self.store.location_of), ended=self._ended,
                           bus=bus, locks=None if bus is None else SiteLocks(
                               pool, lambda: self.sites.given_up()))  # noqa: PLW0108 -- built here
        self.handlers = SmartChargingHandlers(self.store, self.sites, self._prices,
                                              self.send_plan)
        # an EVSE with an EV plan gets one TxProfile: the plan capped at the site's share
        self._plans: dict[EvseKey, EvPlan] = {}
        self._site_w: dict[EvseKey, tuple[str, int]] = {}
        self._accepted: dict[EvseKey, tuple[v201.ChargingProfile, str]] = {}  # to record

    def register(self, handlers: StationHandlers) -> None:
        self.handlers.register(handlers)

    async def send_profile(self, station_id: str, evse_id: int,
                           profile: v201.ChargingProfile, source: str, *,
                           store: bool = True) -> bool:
        """SetChargingProfile through the node's command channel; stored when accepted (or
        kept for `record` when not `store`)."""
        request = v201.SetChargingProfileRequest(evse_id=evse_id, charging_profile=profile)
        try:
            answer = await self._commander().send(station_id, request)
        except SEND_FAILURES as exc:  # offline, timeout, CALLERROR: the site tries again later
            log.warning("smart_charging.send_failed", station=station_id, evse=evse_id,
                        error=type(exc).__name__)
            return False
        assert isinstance(answer, v201.SetChargingProfileResponse)
        if answer.status is not v201.ChargingProfileStatusEnum.ACCEPTED:
            return False
        if store:
            await self.store.save_profile(station_id, evse_id, profile, source)
        else:
            self._accepted[(station_id, evse_id)] = (profile, source)
        return True

    async def send_default(self, default: SendDefault) -> bool:
        """The site's TxDefaultProfile for the whole station (EVSE 0) at the floor."""
        return await self.send_profile(default.station_id, 0, default_profile(default), "site")

    async def record(self, limits: list[SendLimit]) -> None:
        """Store what a site's stations accepted in one transaction (a 200-EVSE site changes
        every share on a start: one statement pair, not 200)."""
        rows = []
        for limit in limits:
            key = (limit.station_id, limit.evse_id)
            kept = self._accepted.pop(key, None)
            if kept is not None:
                rows.append((key[0], key[1], kept[0], kept[1]))
        if rows:
            await self.store.save_profiles(rows)

    async def send_limit(self, limit: SendLimit) -> bool:
        """The site's allocation for an EVSE: its TxProfile, or the EV plan capped at it."""
        key = (limit.station_id, limit.evse_id)
        self._site_w[key] = (limit.transaction_id, limit.watts)
        plan = self._plans.get(key)
        if plan is not None and plan.transaction_id == limit.transaction_id:
            return await self._send_plan(limit.station_id, limit.evse_id, plan, store=False)
        return await self.send_profile(limit.station_id, limit.evse_id, site_profile(limit),
                                       "site", store=False)

    async def send_plan(self, station_id: str, evse_id: int, plan: EvPlan) -> bool:
        """An EV's plan (NotifyEVChargingNeeds), capped at the site's share if it has one."""
        self._plans[(station_id, evse_id)] = plan
        return await self._send_plan(station_id, evse_id, plan)

    async def _send_plan(self, station_id: str, evse_id: int, plan: EvPlan, *,
                         store: bool = True) -> bool:
        site = self._site_w.get((station_id, evse_id))
        cap = site[1] if site is not None and site[0] == plan.transaction_id else None
        return await self.send_profile(station_id, evse_id, ev_profile(evse_id, plan, cap),
                                       "ev", store=store)

    async def _ended(self, station_id: str, transaction_id: str) -> None:
        for key, plan in list(self._plans.items()):
            if key[0] == station_id and plan.transaction_id == transaction_id:
                del self._plans[key]
        for key, (tx, _watts) in list(self._site_w.items()):
            if key[0] == station_id and tx == transaction_id:
                del self._site_w[key]
        await self.store.end_transaction(station_id, transaction_id)

    async def _prices(self, station_id: str, evse_id: int, start: datetime, end: datetime
                      ) -> dict[datetime, int]:
        """Each hour's cost for an EV plan: the grid price plus the EVSE's tariff."""
        submarket = await self._submarket(station_id) or self._default
        first = start.replace(minute=0, second=0, microsecond=0)
        grid = {h.hour_start: h.pld_centavos_per_mwh
                for h in await self._grid.hours(submarket, first, end)}
        return hour_costs(grid, await self.store.tariff_windows(station_id, evse_id, first, end))

    def start(self) -> None:
        self.sites.start()

    async def aclose(self) -> None:
        await self.handlers.aclose()
        await self.sites.aclose()

