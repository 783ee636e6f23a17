"""The station's smart-charging messages: reported profiles, external limits, EV needs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec
import structlog

from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201
from sigec_actors.smart_charging.schedule import EvPlan, needs_of, plan
from sigec_actors.smart_charging.site import DEFAULT_MAX_PER_EVSE_W

log = structlog.get_logger("smart_charging")
VOLTS = 230
NeedsStatus = v201.NotifyEVChargingNeedsStatusEnum


class HandlerStore(Protocol):
    """What the handlers write (PgSmartCharging)."""

    async def reported(self, station_id: str, evse_id: int, limit_source: str,
                       profiles: Any, at: datetime) -> None: ...
    async def external_limit(self, station_id: str, evse_id: int, source: str,
                             grid_critical: bool | None, limit_w: int | None,
                             schedules: Any) -> None: ...
    async def external_cleared(self, station_id: str, evse_id: int | None,
                               source: str) -> None: ...
    async def ev_schedule(self, station_id: str, evse_id: int, time_base: datetime,
                          schedule: Any) -> None: ...
    async def location_of(self, station_id: str) -> UUID | None: ...
    async def running_transaction(self, station_id: str, evse_id: int) -> str | None: ...


class SiteHooks(Protocol):
    """The node's sites (Sites)."""

    async def limits_changed(self, location_id: UUID) -> None: ...
    def ev_maximum(self, station_id: str, evse_id: int, max_w: int) -> None: ...
    def presence(self, station_id: str, online: bool) -> None: ...


Prices = Callable[[str, int, datetime, datetime], Awaitable[dict[datetime, int]]]
"""(station id, EVSE, from, to) -> hour start -> its cost (grid price and tariff; any unit:
only the order counts)."""
SendPlan = Callable[[str, int, EvPlan], Awaitable[bool]]
"""(station id, EVSE, plan) -> the plan's TxProfile was accepted (and stored)."""


def limit_w(schedule: v201.ChargingSchedule) -> int:
    """A schedule's first period limit in W (A x 230 V x phases, 3 when not given)."""
    period = schedule.charging_schedule_period[0]
    if schedule.charging_rate_unit is v201.ChargingRateUnitEnum.A:
        return round(period.limit * VOLTS * (period.number_phases or 3))
    return round(period.limit)


def _at_least(value: int, minimum: int, path: str) -> None:
    """Refuse (PropertyConstraintViolation, never "retry later") what the tables cannot hold."""
    if value < minimum:
        raise PayloadError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                           f"must be {minimum} or more", path)


def utcnow() -> datetime:
    return datetime.now(UTC)


class SmartChargingHandlers:
    """Answers ReportChargingProfiles, NotifyChargingLimit, ClearedChargingLimit,
    NotifyEVChargingSchedule and NotifyEVChargingNeeds for every charge point of the node."""

    def __init__(self, store: HandlerStore, sites: SiteHooks, prices: Prices,
                 send: SendPlan, clock: Callable[[], datetime] = utcnow) -> None:
        self._store, self._sites, self._prices, self._send = store, sites, prices, send
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()

    def register(self, handlers: StationHandlers) -> None:
        handlers.handle(v201.ReportChargingProfilesRequest, self.report_profiles)
        handlers.handle(v201.NotifyChargingLimitRequest, self.charging_limit)
        handlers.handle(v201.ClearedChargingLimitRequest, self.limit_cleared)
        handlers.handle(v201.NotifyEVChargingScheduleRequest, self.ev_schedule)
        handlers.handle(v201.NotifyEVChargingNeedsRequest, self.ev_needs)
        # a station takes commands once booted: its site sends what it should hold again
        handlers.watch(v201.BootNotificationRequest,
                       lambda station_id, _req: self._sites.presence(station_id, True))

    async def report_profiles(self, station_id: str, req: v201.ReportChargingProfilesRequest
                              ) -> v201.ReportChargingProfilesResponse:
        _at_least(req.evse_id, 0, "$.evseId")
        for i, profile in enumerate(req.charging_profile):
            _at_least(profile.stack_level, 0, f"$.chargingProfile[{i}].stackLevel")
        await self._store.reported(station_id, req.evse_id, req.charging_limit_source.value,
                                   req.charging_profile, self._clock())
        return v201.ReportChargingProfilesResponse()

    async def charging_limit(self, station_id: str, req: v201.NotifyChargingLimitRequest
                             ) -> v201.NotifyChargingLimitResponse:
        _at_least(req.evse_id or 0, 0, "$.evseId")
        schedules = req.charging_schedule
        await self._store.external_limit(
            station_id, req.evse_id or 0, req.charging_limit.charging_limit_source.value,
            req.charging_limit.is_grid_critical,
            limit_w(schedules[0]) if schedules else None,
            msgspec.to_builtins(schedules) if schedules else None)
        await self._budget_moved(station_id)
        return v201.NotifyChargingLimitResponse()

    async def limit_cleared(self, station_id: str, req: v201.ClearedChargingLimitRequest
                            ) -> v201.ClearedChargingLimitResponse:
        await self._store.external_cleared(station_id, req.evse_id,
                                           req.charging_limit_source.value)
        await self._budget_moved(station_id)
        return v201.ClearedChargingLimitResponse()

    async def ev_schedule(self, station_id: str, req: v201.NotifyEVChargingScheduleRequest
                          ) -> v201.NotifyEVChargingScheduleResponse:
        _at_least(req.evse_id, 1, "$.evseId")  # a car is on an EVSE, not the station (0)
        await self._store.ev_schedule(station_id, req.evse_id, req.time_base,
                                      msgspec.to_builtins(req.charging_schedule))
        return v201.NotifyEVChargingScheduleResponse(status=v201.GenericStatusEnum.ACCEPTED)

    async def ev_needs(self, station_id: str, req: v201.NotifyEVChargingNeedsRequest
                       ) -> v201.NotifyEVChargingNeedsResponse:
        """Accepted only when a TxProfile follows (sent after this answer); Rejected (2.0.1 has
        no NoChargingProfile: "no schedule will be provided") when there is nothing to plan:
        no energy or departure time, or no transaction on the EVSE."""
        needs = needs_of(req.charging_needs)
        if needs.max_w:
            self._sites.ev_maximum(station_id, req.evse_id, needs.max_w)
        transaction = await self._store.running_transaction(station_id, req.evse_id)
        periods = None
        if transaction is not None and needs.departure is not None:
            now = self._clock()
            prices = await self._prices(station_id, req.evse_id, now, needs.departure)
            periods = plan(now, needs, DEFAULT_MAX_PER_EVSE_W, prices,
                           max_periods=req.max_schedule_tuples or 24)
        if periods is None or transaction is None:
            return v201.NotifyEVChargingNeedsResponse(status=NeedsStatus.REJECTED)
        assert needs.departure is not None
        self._spawn(self._send_plan(station_id, req.evse_id, EvPlan(
            transaction_id=transaction, start=now, departure=needs.departure,
            periods=tuple(periods))))
        return v201.NotifyEVChargingNeedsResponse(status=NeedsStatus.ACCEPTED)

    async def _send_plan(self, station_id: str, evse_id: int, ev_plan: EvPlan) -> None:
        await asyncio.sleep(0)  # the answer goes out first
        if not await self._send(station_id, evse_id, ev_plan):
            log.warning("smart_charging.ev_plan_refused", station=station_id, evse=evse_id)

    async def _budget_moved(self, station_id: str) -> None:
        location = await self._store.location_of(station_id)
        if location is not None:
            await self._sites.limits_changed(location)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
