"""In-memory V2G grid prices: a PriceStore, station submarkets and a settable GridPrices fake."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from sigec_actors.domain.errors import UnknownStation
from sigec_actors.v2g.pricing import HourPrice, Submarket, hour_floor
from sigec_actors.v2g.service import FetchStatus, UpsertCounts


class InMemoryPriceStore:
    """PriceStore (and StationSubmarkets) in memory, with PgGridPrices' source preference."""

    def __init__(self, stations: dict[str, Submarket | None] | None = None) -> None:
        self.rows: dict[tuple[Submarket, datetime, str], tuple[int, HourPrice]] = {}
        self.fetches: dict[str, FetchStatus] = {}
        self.stations = dict(stations or {})
        self._seq = itertools.count()

    async def upsert(self, prices: Sequence[HourPrice]) -> UpsertCounts:
        unique = {(p.submarket, p.hour_start, p.source): p for p in prices}
        inserted = updated = 0
        for key, price in unique.items():
            old = self.rows.get(key)
            if old is not None and (old[1].pld_centavos_per_mwh, old[1].is_peak) == (
                    price.pld_centavos_per_mwh, price.is_peak):
                continue
            inserted, updated = (inserted + 1, updated) if old is None else (inserted, updated + 1)
            self.rows[key] = (next(self._seq), price)
        return UpsertCounts(inserted, updated, len(unique) - inserted - updated)

    def _best(self, submarket: Submarket) -> dict[datetime, HourPrice]:
        best: dict[datetime, tuple[tuple[bool, int], HourPrice]] = {}
        for (sub, hour, source), (seq, price) in self.rows.items():
            if sub != submarket:
                continue
            rank = (source == "fixture", -seq)
            if hour not in best or rank < best[hour][0]:
                best[hour] = (rank, price)
        return {hour: price for hour, (_, price) in best.items()}

    async def between(self, submarket: Submarket, start: datetime,
                      end: datetime) -> list[HourPrice]:
        best = self._best(submarket)
        return [best[h] for h in sorted(best) if start <= h < end]

    async def latest_before(self, submarket: Submarket, before: datetime) -> HourPrice | None:
        best = self._best(submarket)
        earlier = [h for h in best if h < before]
        return best[max(earlier)] if earlier else None

    async def record_fetch(self, source: str, at: datetime, error: str | None) -> None:
        old = self.fetches.get(source)
        success = at if error is None else (old.last_success_at if old else None)
        self.fetches[source] = FetchStatus(source, at, success, error, error is not None)

    async def fetch_status(self, source: str) -> FetchStatus | None:
        return self.fetches.get(source)

    async def station_submarket(self, station_id: str) -> Submarket | None:
        if station_id not in self.stations:
            raise UnknownStation(station_id)
        return self.stations[station_id]


class FakeGridPrices:
    """GridPrices from a fixed list of prices; `stale` is what `current` reports."""

    def __init__(self, prices: Sequence[HourPrice] = (), *, stale: bool = False) -> None:
        self.prices = {(p.submarket, p.hour_start): p for p in prices}
        self.stale = stale

    def add(self, *prices: HourPrice) -> None:
        for p in prices:
            self.prices[(p.submarket, p.hour_start)] = p

    async def hours(self, submarket: Submarket, start: datetime, end: datetime) -> list[HourPrice]:
        found = [p for (s, h), p in self.prices.items() if s == submarket and start <= h < end]
        return sorted(found, key=lambda p: p.hour_start)

    async def current(self, submarket: Submarket, now: datetime) -> tuple[HourPrice | None, bool]:
        return self.prices.get((submarket, hour_floor(now))), self.stale
