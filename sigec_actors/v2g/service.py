"""The grid-price service: stored prices clamped and marked peak, staleness, forecasts, refresh."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Protocol

import msgspec
import structlog

from sigec_actors.errors import SigecError
from sigec_actors.v2g.limits import clamp
from sigec_actors.v2g.peak import PeakWindow, is_peak
from sigec_actors.v2g.pricing import HOUR, HourPrice, Submarket, hour_floor

log = structlog.get_logger("v2g.prices")
FORECAST = "forecast"
HISTORY_DAYS = 7


class UpsertCounts(msgspec.Struct, frozen=True):
    inserted: int
    updated: int
    unchanged: int


class FetchStatus(msgspec.Struct, frozen=True):
    source: str
    last_attempt_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    failing: bool


class PriceStore(Protocol):
    """Where hourly prices are kept (v2g_grid_prices) with each source's last refresh."""

    async def upsert(self, prices: Sequence[HourPrice]) -> UpsertCounts: ...
    async def between(self, submarket: Submarket, start: datetime,
                      end: datetime) -> list[HourPrice]:
        """One price per hour in [start, end) (the preferred source when several hold it)."""
        ...
    async def latest_before(self, submarket: Submarket, before: datetime) -> HourPrice | None: ...
    async def record_fetch(self, source: str, at: datetime, error: str | None) -> None: ...
    async def fetch_status(self, source: str) -> FetchStatus | None: ...


class PriceFetchFailed(SigecError):
    """A price source could not deliver (network, HTTP status, bad payload)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"price source {source}: {reason}")


class PriceSource(Protocol):
    """Something that yields hourly prices (CCEE CKAN, a CSV file, the fixture)."""

    name: str

    async def fetch(self, now: datetime) -> list[HourPrice]:
        """Prices around `now`; raises PriceFetchFailed."""
        ...


def normalize(prices: Sequence[HourPrice], window: PeakWindow) -> list[HourPrice]:
    """Prices clamped to their year's PLD limits and marked peak or not."""
    return [msgspec.structs.replace(
        p, pld_centavos_per_mwh=clamp(p.pld_centavos_per_mwh, p.hour_start),
        is_peak=is_peak(p.hour_start, window)) for p in prices]


class GridPriceService:
    """The GridPrices port over a PriceStore: clamped, peak-marked, with a staleness flag.

    `source` is the configured source whose last refresh decides staleness: the current
    hour's price is stale when that refresh failed, or when the hour has no price and the
    last known earlier one is served instead.
    """

    def __init__(self, store: PriceStore, source: str, window: PeakWindow) -> None:
        self.store = store
        self.source = source
        self.window = window

    def _normal(self, price: HourPrice) -> HourPrice:
        return msgspec.structs.replace(
            price, pld_centavos_per_mwh=clamp(price.pld_centavos_per_mwh, price.hour_start),
            is_peak=is_peak(price.hour_start, self.window))

    async def hours(self, submarket: Submarket, start: datetime, end: datetime) -> list[HourPrice]:
        rows = await self.store.between(submarket, hour_floor(start), end)
        return [self._normal(p) for p in rows]

    async def failing(self) -> bool:
        status = await self.store.fetch_status(self.source)
        return status is not None and status.failing

    async def current(self, submarket: Submarket, now: datetime) -> tuple[HourPrice | None, bool]:
        hour = hour_floor(now)
        found = await self.hours(submarket, hour, hour + HOUR)
        if found:
            return found[0], await self.failing()
        last = await self.store.latest_before(submarket, hour)
        return (self._normal(last) if last is not None else None), True

    async def forecast(self, submarket: Submarket, now: datetime, hours: int) -> list[HourPrice]:
        """The next `hours` hours from the current one: stored prices where there are any,
        beyond them the average of the same hour of day over the last 7 days (source
        "forecast"); an hour with neither is left out."""
        start = hour_floor(now)
        stored = {p.hour_start: p for p in await self.hours(submarket, start, start + hours * HOUR)}
        history = await self.hours(submarket, start - timedelta(days=HISTORY_DAYS), start)
        by_hour: dict[int, list[int]] = defaultdict(list)
        for price in history:
            by_hour[price.hour_start.hour].append(price.pld_centavos_per_mwh)
        out: list[HourPrice] = []
        for i in range(hours):
            hour = start + i * HOUR
            if hour in stored:
                out.append(stored[hour])
            elif by_hour[hour.hour]:
                values = by_hour[hour.hour]
                average = round(Fraction(sum(values), len(values)))
                out.append(HourPrice(submarket, hour, clamp(average, hour),
                                     is_peak(hour, self.window), FORECAST))
        return out


class PriceRefresher:
    """One refresh round: fetch from the source, store, and record the outcome."""

    def __init__(self, source: PriceSource, store: PriceStore, window: PeakWindow,
                 clock: Callable[[], datetime]) -> None:
        self.source = source
        self.store = store
        self.window = window
        self.clock = clock

    async def run_once(self) -> UpsertCounts | None:
        """Fetch and store; a failing source is recorded (prices turn stale) and logged."""
        now = self.clock()
        try:
            fetched = await self.source.fetch(now)
        except PriceFetchFailed as exc:
            await self.store.record_fetch(self.source.name, now, exc.reason)
            log.warning("grid_prices_fetch_failed", source=exc.source, reason=exc.reason)
            return None
        counts = await self.store.upsert(normalize(fetched, self.window))
        await self.store.record_fetch(self.source.name, now, None)
        log.info("grid_prices_refreshed", source=self.source.name, fetched=len(fetched),
                 inserted=counts.inserted, updated=counts.updated)
        return counts
