"""Hourly grid prices, the retail policy and metered V2G compensation: pure, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Protocol

import msgspec

from sigec_actors.errors import SigecError

HOUR = timedelta(hours=1)
_MICROS_PER_MWH_WH = 1_000_000  # centavos/MWh x Wh = 1e-6 centavos
_PPM = 1_000_000
_BP = 10_000


class Submarket(StrEnum):
    """The four CCEE submarkets (SE is Sudeste/Centro-Oeste; the DB column spells it 'SE_CO')."""

    SE = "SE"
    S = "S"
    NE = "NE"
    N = "N"


class HourPrice(msgspec.Struct, frozen=True):
    """The PLD of one submarket for one UTC hour, clamped to that year's regulatory limits."""

    submarket: Submarket
    hour_start: datetime
    pld_centavos_per_mwh: int
    is_peak: bool
    source: str


class RetailPolicy(msgspec.Struct, frozen=True):
    """Versioned PLD -> retail conversion: price = alpha x PLD + beta, minus a margin in bp."""

    version: str
    alpha_ppm: int
    beta_centavos_per_mwh: int
    margin_bp: int

    def price_centavos_per_mwh(self, pld: int) -> int:
        """alpha_ppm x pld / 1e6 + beta, computed exactly and rounded half-even once."""
        return round(Fraction(self.alpha_ppm * pld, _PPM)) + self.beta_centavos_per_mwh


class HourShare(msgspec.Struct, frozen=True):
    """One hour of a compensation: metered export, the retail price, the exact unrounded gross.

    `gross_centavos` is the exact value as a decimal string (export x price / 1e6 always has at
    most six decimals); `Fraction(share.gross_centavos)` gives it back exactly.
    """

    hour_start: datetime
    export_wh: int
    price_centavos_per_mwh: int
    gross_centavos: str


class Compensation(msgspec.Struct, frozen=True):
    """What a discharge earns: gross and margin rounded once each, half-even; net = the rest."""

    gross_centavos: int
    margin_centavos: int
    net_centavos: int
    export_wh: int
    policy_version: str
    hours: list[HourShare]


class PriceGap(SigecError):
    """Some hours with export have no grid price; `missing` lists them (UTC hour starts)."""

    def __init__(self, missing: list[datetime]) -> None:
        self.missing = missing
        shown = ", ".join(h.isoformat() for h in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        super().__init__(f"no grid price for {len(missing)} hour(s) with export: {shown}{more}")


def hour_floor(ts: datetime) -> datetime:
    """The UTC hour containing the aware timestamp `ts`."""
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts.isoformat()}: timestamps must be timezone-aware")
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _exact_decimal(value: Fraction) -> str:
    """A fraction whose denominator divides 1e6 as an exact decimal string."""
    scaled = value * _MICROS_PER_MWH_WH
    assert scaled.denominator == 1
    return str(Decimal(scaled.numerator).scaleb(-6).normalize()) if scaled else "0"


def compensate(
    export_wh_by_hour: Mapping[datetime, int],
    prices: Mapping[datetime, HourPrice],
    policy: RetailPolicy,
) -> Compensation:
    """Sum export x retail price over hours exactly, then round gross and margin once each.

    Raises PriceGap when an hour with export has no price. Hours with zero export are skipped.
    """
    by_hour = {hour_floor(h): wh for h, wh in export_wh_by_hour.items() if wh != 0}
    if any(wh < 0 for wh in by_hour.values()):
        raise ValueError("export per hour must not be negative")
    price_by_hour = {hour_floor(h): p for h, p in prices.items()}
    missing = sorted(h for h in by_hour if h not in price_by_hour)
    if missing:
        raise PriceGap(missing)
    exact_total = Fraction(0)
    shares: list[HourShare] = []
    for hour in sorted(by_hour):
        wh = by_hour[hour]
        price = policy.price_centavos_per_mwh(price_by_hour[hour].pld_centavos_per_mwh)
        exact = Fraction(wh * price, _MICROS_PER_MWH_WH)
        exact_total += exact
        shares.append(HourShare(hour, wh, price, _exact_decimal(exact)))
    gross = round(exact_total)
    margin = round(Fraction(gross * policy.margin_bp, _BP))
    return Compensation(
        gross_centavos=gross,
        margin_centavos=margin,
        net_centavos=gross - margin,
        export_wh=sum(by_hour.values()),
        policy_version=policy.version,
        hours=shares,
    )


def _micros(ts: datetime) -> int:
    """Microseconds since the epoch, exactly (no float); `ts` must be aware."""
    hour_floor(ts)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _monotone(samples: Sequence[tuple[datetime, int]]) -> list[tuple[int, int]]:
    """Sorted (micros, adjusted register) with drops treated as meter resets (no export)."""
    ordered = sorted((_micros(ts), wh) for ts, wh in samples)
    out: list[tuple[int, int]] = []
    adjusted = 0
    previous: int | None = None
    for t, wh in ordered:
        if previous is not None and wh >= previous:
            adjusted += wh - previous
        previous = wh
        out.append((t, adjusted))
    return out


def _register_at(t0: int, a0: int, t1: int, a1: int, t: int) -> int:
    """The adjusted register linearly interpolated at `t`, rounded half-even to whole Wh."""
    return a0 + round(Fraction((a1 - a0) * (t - t0), t1 - t0))


def split_by_hour(samples: Sequence[tuple[datetime, int]]) -> dict[datetime, int]:
    """Wh exported in each UTC hour from cumulative export-register samples.

    Samples may come in any order and repeat. Energy between two consecutive samples is spread
    linearly over the time between them; the register is interpolated at each hour boundary and
    rounded to whole Wh, so every hour is >= 0 and the hours add up exactly to the metered total.
    A register that goes down is a meter reset: that step exports nothing and counting restarts
    from the new reading (conservative: energy of unknown origin is never paid). Hours with no
    export are left out.
    """
    points = _monotone(samples)
    result: dict[datetime, int] = {}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    hour_us = 3_600_000_000
    for (t0, a0), (t1, a1) in itertools.pairwise(points):
        if a1 == a0:
            continue
        if t1 == t0:
            start = t0 - t0 % hour_us
            key = epoch + timedelta(microseconds=start)
            result[key] = result.get(key, 0) + a1 - a0
            continue
        hour = t0 - t0 % hour_us
        value_at_prev = a0
        while hour < t1:
            boundary = min(hour + hour_us, t1)
            value = a1 if boundary == t1 else _register_at(t0, a0, t1, a1, boundary)
            if value > value_at_prev:
                key = epoch + timedelta(microseconds=hour)
                result[key] = result.get(key, 0) + value - value_at_prev
            value_at_prev = value
            hour += hour_us
    return dict(sorted(result.items()))


class GridPrices(Protocol):
    """The grid-price port: stored hourly prices and the current one with a staleness flag."""

    async def hours(self, submarket: Submarket, start: datetime, end: datetime) -> list[HourPrice]:
        """Prices for the hours in [start, end), ordered by hour; missing hours are left out."""
        ...

    async def current(self, submarket: Submarket, now: datetime) -> tuple[HourPrice | None, bool]:
        """The price of the hour containing `now` (None if unknown) and whether it is stale."""
        ...
