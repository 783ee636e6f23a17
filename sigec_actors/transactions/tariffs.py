"""Pure session pricing in integer BRL centavos: energy, charging time, idle time, session fee."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

# Rounding rule (the one place money is rounded):
#   energy  = price_per_kwh_centavos x energy_wh / 1000       (exact rational)
#   time    = per_minute_centavos x charging_seconds / 60      (exact rational)
#   idle    = idle_per_minute_centavos x idle_seconds / 60     (exact rational)
#   total   = round_half_even(energy + time + idle) + session_fee
# The three metered components are summed exactly (common denominator 60,000) and rounded to
# whole centavos ONCE, half to even, so no per-sample or per-component rounding accumulates.
# The session fee (already whole centavos) applies once the session delivered energy (> 0 Wh).
_DENOMINATOR = 60_000  # lcm(1000 Wh per kWh, 60 s per minute)


class Tariff(msgspec.Struct, frozen=True, kw_only=True):
    """Prices of one scope (network default, station, EVSE or connector), in centavos."""

    id: UUID | None = None  # None: the default tariff from configuration
    price_per_kwh_centavos: int = 0
    per_minute_centavos: int = 0
    idle_per_minute_centavos: int = 0
    session_fee_centavos: int = 0
    currency: str = "BRL"
    charge_point_id: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("price_per_kwh_centavos", "per_minute_centavos",
                     "idle_per_minute_centavos", "session_fee_centavos"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"tariff {name} must be a non-negative integer, got {value!r}")


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """What a session consumed: imported energy and seconds spent charging / idle after."""

    energy_wh: int = 0
    charging_s: int = 0
    idle_s: int = 0


class CostBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """The total and its parts in milli-centavos before the single rounding (for receipts)."""

    total_centavos: int
    energy_millicentavos: int
    time_millicentavos: int
    idle_millicentavos: int
    session_fee_centavos: int


def default_tariff(price_per_kwh_centavos: int = 0, session_fee_centavos: int = 0,
                   per_minute_centavos: int = 0, idle_per_minute_centavos: int = 0) -> Tariff:
    """The network default tariff (config `[billing]`), used when no stored tariff applies."""
    return Tariff(price_per_kwh_centavos=price_per_kwh_centavos,
                  session_fee_centavos=session_fee_centavos,
                  per_minute_centavos=per_minute_centavos,
                  idle_per_minute_centavos=idle_per_minute_centavos)


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, ties to even (integers only, no floats)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def breakdown(tariff: Tariff, usage: Usage) -> CostBreakdown:
    """Price `usage` with `tariff` (see the rounding rule at the top of this module)."""
    energy = tariff.price_per_kwh_centavos * max(usage.energy_wh, 0) * 60
    time = tariff.per_minute_centavos * max(usage.charging_s, 0) * 1000
    idle = tariff.idle_per_minute_centavos * max(usage.idle_s, 0) * 1000
    metered = round_half_even(energy + time + idle, _DENOMINATOR)
    fee = tariff.session_fee_centavos if usage.energy_wh > 0 else 0
    return CostBreakdown(
        total_centavos=metered + fee,
        energy_millicentavos=round_half_even(energy, 60),
        time_millicentavos=round_half_even(time, 60),
        idle_millicentavos=round_half_even(idle, 60),
        session_fee_centavos=fee)


def cost_centavos(tariff: Tariff, usage: Usage) -> int:
    """The session's cost in whole centavos."""
    return breakdown(tariff, usage).total_centavos


def centavos_to_wire(centavos: int) -> float:
    """BRL amount for OCPP's `totalCost` / CostUpdated, whose schema type is a JSON number.

    The only float in the money path, made at the wire boundary: n / 100 is the double
    nearest the decimal n/100 and its shortest repr prints exactly those two decimals.
    """
    return centavos / 100


def specificity(tariff: Tariff) -> int:
    """How narrow a tariff's scope is: connector 3, EVSE 2, station 1, network 0."""
    if tariff.connector_id is not None:
        return 3
    if tariff.evse_id is not None:
        return 2
    return 1 if tariff.charge_point_id is not None else 0


def applies(tariff: Tariff, station_id: str, evse_id: int | None, connector_id: int | None,
            at: datetime) -> bool:
    """True when `tariff` covers the connector at time `at`."""
    if tariff.charge_point_id is not None and tariff.charge_point_id != station_id:
        return False
    if tariff.evse_id is not None and tariff.evse_id != evse_id:
        return False
    if tariff.connector_id is not None and tariff.connector_id != connector_id:
        return False
    if tariff.valid_from is not None and at < tariff.valid_from:
        return False
    return tariff.valid_to is None or at < tariff.valid_to


def pick(tariffs: list[Tariff], station_id: str, evse_id: int | None, connector_id: int | None,
         at: datetime, fallback: Tariff) -> Tariff:
    """The most specific tariff valid at `at` (latest valid_from wins a tie), else `fallback`."""
    candidates = [t for t in tariffs if applies(t, station_id, evse_id, connector_id, at)]
    if not candidates:
        return fallback
    return max(candidates, key=lambda t: (specificity(t), t.valid_from or datetime.min.replace(
        tzinfo=at.tzinfo)))
