"""Peak hours (ponta): a working day in Brazil inside the configured local-time window."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import msgspec


class PeakWindow(msgspec.Struct, frozen=True):
    """The ponta window [start, end) in `timezone`; `subdivision` adds a state's holidays."""

    start: time = time(18, 0)
    end: time = time(21, 0)
    timezone: str = "America/Sao_Paulo"
    subdivision: str = ""


@lru_cache(maxsize=64)
def _holidays(year: int, subdivision: str) -> frozenset[date]:
    """National holidays of Brazil in `year`, plus the state's when `subdivision` is set."""
    calendar = holidays.country_holidays("BR", years=year, subdiv=subdivision or None)
    return frozenset(calendar.keys())


def is_working_day(day: date, subdivision: str = "") -> bool:
    """Monday to Friday and not a holiday (national, or also the state's)."""
    return day.weekday() < 5 and day not in _holidays(day.year, subdivision)


def is_peak(hour_start: datetime, window: PeakWindow) -> bool:
    """True when the hour starting at `hour_start` (aware) lies in the ponta window."""
    local = hour_start.astimezone(ZoneInfo(window.timezone))
    if not is_working_day(local.date(), window.subdivision):
        return False
    return window.start <= local.time() < window.end
