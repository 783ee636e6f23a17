"""The V2G discharge planner: the best-paid hours before departure, within the SoC floor (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction

import msgspec

from sigec_actors.errors import SigecError
from sigec_actors.v2g.pricing import HOUR, HourPrice, RetailPolicy, compensate, hour_floor

MAX_HORIZON = timedelta(days=7)
DEFAULT_SOC = 80
DEFAULT_BATTERY_WH = 60_000
DEFAULT_MAX_DISCHARGE_W = 7_000


class PlanRefused(SigecError):
    """The plan cannot be made: `field` of the request breaks `problem`."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class Car(msgspec.Struct, frozen=True, kw_only=True):
    """What the planner knows of the car and station: SoC and floor in %, capacity, max power."""

    soc: float
    min_soc: float
    capacity_wh: int
    max_discharge_w: int

    @property
    def available_wh(self) -> int:
        """Whole Wh above the floor (0 when at or below it)."""
        return max(int(self.capacity_wh * (Fraction(str(self.soc)) - Fraction(str(self.min_soc)))
                       / 100), 0)


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """Discharge at `power_w` from `start` to `end` (inside one UTC hour) for `expected_wh`."""

    start: datetime
    end: datetime
    power_w: int
    expected_wh: int
    price_centavos_per_mwh: int
    """The retail price paid for that hour (RetailPolicy applied to its PLD)."""


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    windows: list[Window]
    expected_wh: int
    expected_earnings_centavos: int
    """Net of the operator margin, from compensate() over the windows' hours."""
    policy_version: str


def check_departure(now: datetime, departure: datetime) -> None:
    """Departure must lie after `now` and at most MAX_HORIZON ahead (PlanRefused otherwise)."""
    if departure <= now:
        raise PlanRefused("departureAt", "is not in the future")
    if departure - now > MAX_HORIZON:
        raise PlanRefused("departureAt", "is more than 7 days ahead")


def _slots(now: datetime, departure: datetime,
           prices: Sequence[HourPrice]) -> list[tuple[datetime, datetime, HourPrice]]:
    """(start, end, price) of each priced hour (one price per hour), cut to [now, departure)."""
    out = []
    for hour, price in {hour_floor(p.hour_start): p for p in prices}.items():
        start, end = max(hour, now), min(hour + HOUR, departure)
        if start < end:
            out.append((start, end, price))
    return out


def plan(now: datetime, departure: datetime, car: Car, prices: Sequence[HourPrice],
         policy: RetailPolicy) -> Plan:
    """Fill the highest-priced hours first (earlier first on a tie) at the car's maximum power
    until the energy above the floor is used; the last window is shortened to what is left.
    Hours without a price, or whose retail price is not positive, are never planned."""
    check_departure(now, departure)
    left = car.available_wh
    chosen: list[Window] = []
    ranked = sorted(_slots(now, departure, prices), key=lambda s: (
        -policy.price_centavos_per_mwh(s[2].pld_centavos_per_mwh), s[0]))
    for start, slot_end, price in ranked:
        retail = policy.price_centavos_per_mwh(price.pld_centavos_per_mwh)
        seconds = int((slot_end - start).total_seconds())
        capacity = car.max_discharge_w * seconds // 3600
        if left <= 0 or retail <= 0 or capacity <= 0:
            continue
        wh = min(capacity, left)
        end = slot_end if wh == capacity else start + timedelta(
            seconds=-(-wh * 3600 // car.max_discharge_w))
        chosen.append(Window(start=start, end=end,
                             power_w=car.max_discharge_w, expected_wh=wh,
                             price_centavos_per_mwh=retail))
        left -= wh
    chosen.sort(key=lambda w: w.start)
    by_hour = {hour_floor(w.start): w.expected_wh for w in chosen}
    earned = compensate(by_hour, {hour_floor(p.hour_start): p for p in prices}, policy)
    return Plan(windows=chosen, expected_wh=earned.export_wh,
                expected_earnings_centavos=earned.net_centavos, policy_version=policy.version)
