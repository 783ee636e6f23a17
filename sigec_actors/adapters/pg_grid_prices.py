"""PostgreSQL grid prices: v2g_grid_prices, v2g_price_fetches and locations.submarket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sigec_actors.adapters.pg import connection
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.ports import DbPool
from sigec_actors.v2g.pricing import HourPrice, Submarket
from sigec_actors.v2g.service import FetchStatus, UpsertCounts

TO_REGION = {Submarket.SE: "SE_CO", Submarket.S: "S", Submarket.NE: "NE", Submarket.N: "N"}
FROM_REGION = {region: submarket for submarket, region in TO_REGION.items()}
BATCH = 5000
_UPSERT = (
    "INSERT INTO v2g_grid_prices AS g (region, starts_at, price_centavos_mwh, is_peak, source)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bool[], $5::text[])"
    " ON CONFLICT (region, starts_at, source) DO UPDATE SET"
    " price_centavos_mwh = EXCLUDED.price_centavos_mwh, is_peak = EXCLUDED.is_peak,"
    " created_at = now()"
    " WHERE (g.price_centavos_mwh, g.is_peak) IS DISTINCT FROM"
    " (EXCLUDED.price_centavos_mwh, EXCLUDED.is_peak)"
    " RETURNING (xmax = 0) AS inserted")
# one row per hour: any real source before the synthetic fixture, then the latest written
_BETWEEN = (
    "SELECT DISTINCT ON (starts_at) region, starts_at, price_centavos_mwh, is_peak, source"
    " FROM v2g_grid_prices WHERE region = $1 AND starts_at >= $2 AND starts_at < $3"
    " ORDER BY starts_at, (source = 'fixture'), created_at DESC, source")
_LATEST = (
    "SELECT region, starts_at, price_centavos_mwh, is_peak, source FROM v2g_grid_prices"
    " WHERE region = $1 AND starts_at < $2"
    " ORDER BY starts_at DESC, (source = 'fixture'), created_at DESC, source LIMIT 1")
_RECORD = (
    "INSERT INTO v2g_price_fetches (source, last_attempt_at, last_success_at, last_error, failing)"
    " VALUES ($1, $2::timestamptz, CASE WHEN $3::text IS NULL THEN $2::timestamptz END, $3,"
    " $3::text IS NOT NULL)"
    " ON CONFLICT (source) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,"
    " last_success_at = coalesce(EXCLUDED.last_success_at, v2g_price_fetches.last_success_at),"
    " last_error = EXCLUDED.last_error, failing = EXCLUDED.failing")
_STATUS = "SELECT * FROM v2g_price_fetches WHERE source = $1"
_SUBMARKET = (
    "SELECT l.submarket FROM charge_points cp LEFT JOIN locations l ON l.id = cp.location_id"
    " WHERE cp.id = $1")
_SET_SUBMARKET = "UPDATE locations SET submarket = $2 WHERE id = $1::uuid"


def _price(row: Any) -> HourPrice:
    return HourPrice(FROM_REGION[row["region"]], row["starts_at"], row["price_centavos_mwh"],
                     row["is_peak"], row["source"])


class PgGridPrices:
    """The PriceStore and StationSubmarkets ports on PostgreSQL."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def upsert(self, prices: Sequence[HourPrice]) -> UpsertCounts:
        """Insert or update (idempotent: an identical row is left alone and counted unchanged)."""
        unique = {(p.submarket, p.hour_start, p.source): p for p in prices}
        rows = list(unique.values())
        inserted = updated = 0
        async with connection(self._pool) as conn:
            for i in range(0, len(rows), BATCH):
                chunk = rows[i:i + BATCH]
                result = await conn.fetch(
                    _UPSERT, [TO_REGION[p.submarket] for p in chunk],
                    [p.hour_start for p in chunk], [p.pld_centavos_per_mwh for p in chunk],
                    [p.is_peak for p in chunk], [p.source for p in chunk])
                new = sum(1 for r in result if r["inserted"])
                inserted += new
                updated += len(result) - new
        return UpsertCounts(inserted, updated, len(rows) - inserted - updated)

    async def between(self, submarket: Submarket, start: datetime,
                      end: datetime) -> list[HourPrice]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(_BETWEEN, TO_REGION[submarket], start, end)
        return [_price(r) for r in rows]

    async def latest_before(self, submarket: Submarket, before: datetime) -> HourPrice | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(_LATEST, TO_REGION[submarket], before)
        return None if row is None else _price(row)

    async def record_fetch(self, source: str, at: datetime, error: str | None) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(_RECORD, source, at, error)

    async def fetch_status(self, source: str) -> FetchStatus | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(_STATUS, source)
        return None if row is None else FetchStatus(**dict(row))

    async def station_submarket(self, station_id: str) -> Submarket | None:
        """The submarket of the station's location (None: not set); raises UnknownStation."""
        async with connection(self._pool) as conn:
            rows = await conn.fetch(_SUBMARKET, station_id)
        if not rows:
            raise UnknownStation(station_id)
        value = rows[0]["submarket"]
        return None if value is None else Submarket(value)

    async def set_location_submarket(self, location_id: str, submarket: Submarket | None) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(_SET_SUBMARKET, location_id, submarket)
