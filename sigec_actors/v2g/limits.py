"""The yearly regulatory PLD limits (ANEEL) in centavos per MWh, and clamping to them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

BRT = ZoneInfo("America/Sao_Paulo")


class PldLimits(msgspec.Struct, frozen=True):
    """One year's PLD floor and ceilings; `exact` is False when borrowed from the nearest year."""

    year: int
    min_centavos: int
    max_hourly_centavos: int
    max_structural_centavos: int
    exact: bool = True


# R$/MWh x 100. 2024: Abraceel / MegaWhat; 2025: ANEEL Despacho 3.625/2024; 2026: DOU 23/12/2025.
# Hourly values are validated against [min, max_hourly]; the structural cap is kept as data.
LIMITS: dict[int, PldLimits] = {
    2024: PldLimits(2024, 6_107, 147_057, 71_680),
    2025: PldLimits(2025, 5_860, 154_223, 75_173),
    2026: PldLimits(2026, 5_731, 161_104, 78_527),
}


def limits_for(year: int) -> PldLimits:
    """The limits of `year`; a year not in the table borrows the nearest one's (exact=False)."""
    if year in LIMITS:
        return LIMITS[year]
    nearest = min(LIMITS, key=lambda y: (abs(y - year), -y))
    known = LIMITS[nearest]
    return PldLimits(
        year,
        known.min_centavos,
        known.max_hourly_centavos,
        known.max_structural_centavos,
        exact=False,
    )


def clamp(pld_centavos_per_mwh: int, hour_start: datetime) -> int:
    """The PLD bounded by the limits of the (Brazilian) year its hour falls in."""
    limits = limits_for(hour_start.astimezone(BRT).year)
    return max(limits.min_centavos, min(limits.max_hourly_centavos, pld_centavos_per_mwh))
