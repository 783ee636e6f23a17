"""PgGridPrices on PostgreSQL and the GridPriceService over it (and over the in-memory fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.pg_grid_prices import PgGridPrices
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.ports import DbPool
from sigec_actors.testing.v2g import InMemoryPriceStore
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import HOUR, HourPrice, Submarket
from sigec_actors.v2g.service import GridPriceService, PriceFetchFailed, PriceRefresher, PriceStore

pytestmark = pytest.mark.pg
H = datetime(2026, 3, 10, 21, tzinfo=UTC)  # a Tuesday, 18:00 in Sao Paulo: peak


def hp(hour: datetime, pld: int, source: str = "csv", sub: Submarket = Submarket.SE) -> HourPrice:
    return HourPrice(sub, hour, pld, False, source)


@pytest.fixture(params=["pg", "memory"])
async def store(request: pytest.FixtureRequest, pg_pool: DbPool) -> AsyncIterator[PriceStore]:
    """The PostgreSQL store, and the in-memory fake held to the same tests."""
    if request.param == "memory":
        yield InMemoryPriceStore()
        return
    async with pg_pool.acquire() as conn:
        await conn.execute("TRUNCATE v2g_grid_prices, v2g_price_fetches")
    yield PgGridPrices(pg_pool)


async def test_upsert_is_idempotent_and_counts(store: PriceStore) -> None:
    prices = [hp(H, 30_000), hp(H + HOUR, 31_000), hp(H, 30_000, sub=Submarket.NE)]
    first = await store.upsert(prices)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    again = await store.upsert([*prices, hp(H + HOUR, 32_000)])  # a duplicate in one batch
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 2)
    got = await store.between(Submarket.SE, H, H + 2 * HOUR)
    assert [(p.hour_start, p.pld_centavos_per_mwh) for p in got] == [
        (H, 30_000),
        (H + HOUR, 32_000),
    ]
    assert got[0].hour_start.tzinfo is not None


async def test_a_real_source_wins_over_the_fixture(store: PriceStore) -> None:
    await store.upsert([hp(H, 99_000, "ccee")])
    await store.upsert([hp(H, 11_000, "fixture"), hp(H + HOUR, 12_000, "fixture")])
    got = await store.between(Submarket.SE, H, H + 2 * HOUR)
    assert [(p.source, p.pld_centavos_per_mwh) for p in got] == [
        ("ccee", 99_000),
        ("fixture", 12_000),
    ]
    latest = await store.latest_before(Submarket.SE, H + HOUR)
    assert latest is not None and latest.source == "ccee"
    assert await store.latest_before(Submarket.SE, H) is None


async def test_fetch_status_keeps_the_last_success(store: PriceStore) -> None:
    assert await store.fetch_status("ccee") is None
    await store.record_fetch("ccee", H, None)
    await store.record_fetch("ccee", H + HOUR, "HTTP 403")
    status = await store.fetch_status("ccee")
    assert status is not None
    assert (status.failing, status.last_success_at, status.last_attempt_at, status.last_error) == (
        True,
        H,
        H + HOUR,
        "HTTP 403",
    )


async def test_service_clamps_marks_peak_and_flags_stale(store: PriceStore) -> None:
    service = GridPriceService(store, "ccee", PeakWindow())
    await store.upsert([hp(H, 1), hp(H + HOUR, 10**9)])
    price, stale = await service.current(Submarket.SE, H + timedelta(minutes=59))
    assert price is not None and (price.pld_centavos_per_mwh, price.is_peak, stale) == (
        5731,
        True,
        False,
    )
    await store.record_fetch("ccee", H, "timeout")
    assert (await service.current(Submarket.SE, H))[1] is True
    await store.record_fetch("ccee", H, None)
    # an hour with no price: the last known one, stale
    price, stale = await service.current(Submarket.SE, H + 5 * HOUR)
    assert price is not None and (price.hour_start, price.pld_centavos_per_mwh, stale) == (
        H + HOUR,
        161_104,
        True,
    )
    assert await service.current(Submarket.N, H) == (None, True)


async def test_forecast_uses_stored_hours_then_the_last_7_days_average(store: PriceStore) -> None:
    service = GridPriceService(store, "ccee", PeakWindow())
    now = H + timedelta(minutes=20)
    history = [hp(H - timedelta(days=d), 30_000 + d) for d in range(1, 8)]  # 30001..30007
    history += [hp(H + HOUR - timedelta(days=d), 40_000) for d in (1, 2)]
    await store.upsert([*history, hp(H, 50_000)])
    items = await service.forecast(Submarket.SE, now, 26)
    assert [(i.hour_start, i.source) for i in items[:2]] == [(H, "csv"), (H + HOUR, "forecast")]
    by_hour = {i.hour_start: i.pld_centavos_per_mwh for i in items}
    assert by_hour[H + HOUR] == 40_000
    assert by_hour[H + 24 * HOUR] == 30_004  # mean of 30001..30007
    assert H + 2 * HOUR not in by_hour  # no history for that hour of day
    assert len(items) == 4  # H (stored), H+1h, H+24h, H+25h


class _Source:
    name = "ccee"

    def __init__(self) -> None:
        self.fail = False

    async def fetch(self, now: datetime) -> list[HourPrice]:
        if self.fail:
            raise PriceFetchFailed("ccee", "HTTP 503")
        return [hp(H, 1, "ccee")]


async def test_refresher_stores_clamped_prices_and_records_failures(store: PriceStore) -> None:
    source = _Source()
    refresher = PriceRefresher(source, store, PeakWindow(), lambda: H)
    counts = await refresher.run_once()
    assert counts is not None and counts.inserted == 1
    stored = await store.between(Submarket.SE, H, H + HOUR)
    assert (stored[0].pld_centavos_per_mwh, stored[0].is_peak) == (5731, True)
    source.fail = True
    assert await refresher.run_once() is None
    status = await store.fetch_status("ccee")
    assert status is not None and status.failing and status.last_error == "HTTP 503"
    service = GridPriceService(store, "ccee", PeakWindow())
    assert await service.current(Submarket.SE, H) == (stored[0], True)


async def test_station_submarket_from_its_location(pg_pool: DbPool) -> None:
    repo = PgGridPrices(pg_pool)
    async with pg_pool.acquire() as conn:
        loc = await conn.fetchval(
            "INSERT INTO locations (name, latitude, longitude) VALUES ('x', 0, 0) RETURNING id"
        )
        await conn.execute("INSERT INTO charge_points (id, location_id) VALUES ('V2G-1', $1)", loc)
        await conn.execute("INSERT INTO charge_points (id) VALUES ('V2G-2')")
    assert await repo.station_submarket("V2G-1") is None
    await repo.set_location_submarket(str(loc), Submarket.NE)
    assert await repo.station_submarket("V2G-1") == Submarket.NE
    assert await repo.station_submarket("V2G-2") is None
    with pytest.raises(UnknownStation):
        await repo.station_submarket("nope")
    async with pg_pool.acquire() as conn:
        with pytest.raises(Exception, match="check"):
            await conn.execute("UPDATE locations SET submarket = 'SE_CO'")
