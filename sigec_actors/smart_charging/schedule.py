"""An EV's charging schedule from its needs: the cheapest hours first, before it leaves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from sigec_actors.ocpp.generated import v201

HOUR = timedelta(hours=1)
EV_STACK_LEVEL = 60
"""Above the site's TxProfile (SITE_STACK_LEVEL): the car's plan wins while it runs."""
EV_PROFILE_ID_BASE = 800_000


class Needs(msgspec.Struct, frozen=True, kw_only=True):
    """What NotifyEVChargingNeeds says, reduced to what a plan needs (W and Wh)."""

    energy_wh: int | None
    max_w: int | None
    departure: datetime | None


def needs_of(raw: v201.ChargingNeeds, volts: int = 230, phases: int = 3) -> Needs:
    """Energy (Wh), maximum power (W) and departure time of a ChargingNeeds."""
    ac, dc = raw.ac_charging_parameters, raw.dc_charging_parameters
    if dc is not None:
        max_w = dc.ev_max_power or dc.ev_max_current * dc.ev_max_voltage
        return Needs(energy_wh=dc.energy_amount, max_w=max_w, departure=raw.departure_time)
    if ac is not None:
        max_w = ac.ev_max_current * min(ac.ev_max_voltage or volts, volts) * phases
        return Needs(energy_wh=ac.energy_amount, max_w=max_w, departure=raw.departure_time)
    return Needs(energy_wh=None, max_w=None, departure=raw.departure_time)


def _slots(now: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[now, end) cut at whole hours."""
    slots = []
    start = now
    while start < end:
        hour_end = start.replace(minute=0, second=0, microsecond=0) + HOUR
        slots.append((start, min(hour_end, end)))
        start = slots[-1][1]
    return slots


def plan(now: datetime, needs: Needs, cap_w: int, prices: Mapping[datetime, int],
         max_periods: int = 24) -> list[tuple[int, int]] | None:
    """(startPeriod s from `now`, limit W) periods filling the energy in the cheapest hours
    (`prices`: hour start -> price; an hour without a price costs the most) at
    min(car max, `cap_w`); None when there is nothing to plan (no energy, no departure time,
    already gone) or the plan needs more periods than the station takes."""
    if not needs.energy_wh or needs.departure is None or needs.departure <= now:
        return None
    power = min(needs.max_w or cap_w, cap_w)
    if power <= 0:
        return None
    slots = _slots(now, needs.departure)
    worst = max(prices.values(), default=0) + 1
    cheapest = sorted(range(len(slots)), key=lambda i: (
        prices.get(slots[i][0].replace(minute=0, second=0, microsecond=0), worst), i))
    watts = [0] * len(slots)
    left_mj = needs.energy_wh * 3600  # W x s
    for i in cheapest:
        if left_mj <= 0:
            break
        seconds = int((slots[i][1] - slots[i][0]).total_seconds())
        watts[i] = power if power * seconds <= left_mj else -(-left_mj // seconds)
        left_mj -= watts[i] * seconds
    periods: list[tuple[int, int]] = []
    for (start, _end), limit in zip(slots, watts, strict=True):
        if not periods or periods[-1][1] != limit:
            periods.append((int((start - now).total_seconds()), limit))
    return periods if len(periods) <= max_periods else None


class TariffWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A tariff of the station over its validity (`specificity`: 0 network, 1 station, 2 EVSE)."""

    valid_from: datetime
    valid_to: datetime | None
    price_per_kwh_centavos: int
    specificity: int = 0


def hour_costs(grid: Mapping[datetime, int], tariffs: Sequence[TariffWindow]
               ) -> dict[datetime, int]:
    """What each hour with a grid price costs, in centavos/MWh: the grid price plus the tariff
    in force at the hour's start (the most specific, then the latest to start), so a cheaper
    tariff window is planned first like a cheaper grid hour."""
    costs = {}
    for hour, price in grid.items():
        live = [t for t in tariffs
                if t.valid_from <= hour and (t.valid_to is None or hour < t.valid_to)]
        tariff = max(live, key=lambda t: (t.specificity, t.valid_from), default=None)
        costs[hour] = price + (tariff.price_per_kwh_centavos * 1000 if tariff else 0)
    return costs


class EvPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A plan sent for a car's transaction: `periods` from `start` until `departure`."""

    transaction_id: str
    start: datetime
    departure: datetime
    periods: tuple[tuple[int, int], ...]


def capped(periods: Sequence[tuple[int, int]], cap_w: int | None) -> list[tuple[int, int]]:
    """The periods with no limit above `cap_w` (the site's allocation), merged again."""
    out: list[tuple[int, int]] = []
    for start, watts in periods:
        limit = watts if cap_w is None else min(watts, cap_w)
        if not out or out[-1][1] != limit:
            out.append((start, limit))
    return out


def ev_profile(evse_id: int, plan: EvPlan, cap_w: int | None = None) -> v201.ChargingProfile:
    """The TxProfile carrying a plan (Absolute from its start, in W, until departure), each
    period capped at the site's allocation for the EVSE when there is one: the plan's stack
    level wins over the site's profile, so it must carry the site's limit itself."""
    return v201.ChargingProfile(
        id=EV_PROFILE_ID_BASE + evse_id, stack_level=EV_STACK_LEVEL,
        charging_profile_purpose=v201.ChargingProfilePurposeEnum.TX_PROFILE,
        charging_profile_kind=v201.ChargingProfileKindEnum.ABSOLUTE,
        transaction_id=plan.transaction_id,
        charging_schedule=(v201.ChargingSchedule(
            id=1, start_schedule=plan.start,
            duration=int((plan.departure - plan.start).total_seconds()),
            charging_rate_unit=v201.ChargingRateUnitEnum.W,
            charging_schedule_period=tuple(
                v201.ChargingSchedulePeriod(start_period=s, limit=float(w))
                for s, w in capped(plan.periods, cap_w))),))
