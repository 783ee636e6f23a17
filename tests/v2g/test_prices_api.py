"""REST: /api/v1/v2g/grid-price, /grid-price/forecast and /compensation/calc."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from api.routes import v2g_prices
from sigec_actors.testing.v2g import InMemoryPriceStore
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import HOUR, HourPrice, RetailPolicy, Submarket
from sigec_actors.v2g.service import GridPriceService
from tests.api.harness import ROLES, Api, start_api

H = datetime(2026, 3, 10, 21, tzinfo=UTC)  # Tuesday 18:00 in Sao Paulo: peak
POLICY = RetailPolicy("v3", alpha_ppm=1_200_000, beta_centavos_per_mwh=20_000, margin_bp=1500)


def hp(hour: datetime, pld: int, sub: Submarket = Submarket.SE) -> HourPrice:
    return HourPrice(sub, hour, pld, False, "ccee")


def at(api: Api, now: datetime) -> None:
    """Set the API clock and issue fresh tokens at that time."""
    api.clock.now = now
    for name in api.tokens:
        api.tokens[name] = api.token_for(api.ids[name], ROLES[name])


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Api, InMemoryPriceStore]]:
    store = InMemoryPriceStore({"CP-1": None, "CP-3": Submarket.S})
    await store.upsert([hp(H, 31_234), hp(H + HOUR, 51_966), hp(H, 22_222, Submarket.S),
                        hp(H - timedelta(days=1) + 2 * HOUR, 40_000)])
    ports = v2g_prices.PricePorts(GridPriceService(store, "ccee", PeakWindow()), store, POLICY,
                                  Submarket.SE)
    api = await start_api()
    api.ctx.extras[v2g_prices.EXTRAS_KEY] = ports
    at(api, H + timedelta(minutes=10))
    yield api, store
    await api.close()


async def test_current_price_with_retail_and_per_kwh(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    body = await api.json("GET", "/api/v1/v2g/grid-price", "user")
    # retail: 1.2 x 31234 + 20000 = 57480.8 -> 57481 centavos/MWh -> 57.481 -> 57 centavos/kWh
    assert body == {"submarket": "SE", "hourStart": "2026-03-10T21:00:00Z",
                    "pldCentavosPerMwh": 31234, "priceCentavosPerMwh": 57481,
                    "priceCentavosPerKwh": 57, "isPeak": True, "source": "ccee", "stale": False}


async def test_submarket_from_the_query_or_the_station(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    south = await api.json("GET", "/api/v1/v2g/grid-price?submarket=S", "user")
    assert (south["submarket"], south["pldCentavosPerMwh"]) == ("S", 22222)
    by_station = await api.json("GET", "/api/v1/v2g/grid-price?chargePointId=CP-3", "user")
    assert by_station["submarket"] == "S"
    default = await api.json("GET", "/api/v1/v2g/grid-price?chargePointId=CP-1", "user")
    assert default["submarket"] == "SE"
    await api.json("GET", "/api/v1/v2g/grid-price?chargePointId=CP-404", "user", status=404)
    await api.json("GET", "/api/v1/v2g/grid-price?submarket=NE", "user", status=404)
    bad = await api.json("GET", "/api/v1/v2g/grid-price?submarket=SE_CO", "user", status=422)
    assert bad["field"] == "submarket"
    await api.json("GET", "/api/v1/v2g/grid-price", None, status=401)


async def test_stale_after_a_failed_refresh(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, store = setup
    await store.record_fetch("ccee", H, "HTTP 403")
    assert (await api.json("GET", "/api/v1/v2g/grid-price", "user"))["stale"] is True
    at(api, H + 5 * HOUR)  # no price for that hour: the last known one, stale
    body = await api.json("GET", "/api/v1/v2g/grid-price", "user")
    assert (body["hourStart"], body["stale"]) == ("2026-03-10T22:00:00Z", True)


async def test_forecast(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    body = await api.json("GET", "/api/v1/v2g/grid-price/forecast?hours=3", "user")
    assert [(i["hourStart"], i["source"], i["pldCentavosPerMwh"]) for i in body["items"]] == [
        ("2026-03-10T21:00:00Z", "ccee", 31234), ("2026-03-10T22:00:00Z", "ccee", 51966),
        ("2026-03-10T23:00:00Z", "forecast", 40000)]
    for hours in ("0", "169", "x"):
        bad = await api.json("GET", f"/api/v1/v2g/grid-price/forecast?hours={hours}", "user",
                             status=422)
        assert bad["field"] == "hours"


async def test_compensation_preview_over_an_hour_boundary(
        setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    body = await api.json("POST", "/api/v1/v2g/compensation/calc", "user", json={
        "energyWh": 3000, "start": "2026-03-10T21:30:00Z", "end": "2026-03-10T22:30:00Z"})
    # 1500 Wh at 57481 + 1500 Wh at 82359 (1.2 x 51966 + 20000) = 86.2215 + 123.5385 = 209.76
    # -> 210; margin 15 % = 31.5 -> 32 (half-even); net 178
    assert {k: body[k] for k in ("grossCentavos", "marginCentavos", "netCentavos", "energyWh",
                                 "policyVersion", "marginBp", "submarket")} == {
        "grossCentavos": 210, "marginCentavos": 32, "netCentavos": 178, "energyWh": 3000,
        "policyVersion": "v3", "marginBp": 1500, "submarket": "SE"}
    assert body["hours"] == [
        {"hourStart": "2026-03-10T21:00:00Z", "exportWh": 1500, "pldCentavosPerMwh": 31234,
         "priceCentavosPerMwh": 57481, "grossCentavos": "86.2215"},
        {"hourStart": "2026-03-10T22:00:00Z", "exportWh": 1500, "pldCentavosPerMwh": 51966,
         "priceCentavosPerMwh": 82359, "grossCentavos": "123.5385"}]


async def test_compensation_preview_refusals(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    url = "/api/v1/v2g/compensation/calc"
    gap = await api.json("POST", url, "user", status=422, json={
        "energyWh": 10, "start": "2026-03-10T22:30:00Z", "end": "2026-03-11T00:30:00Z"})
    assert gap["missingHours"] == ["2026-03-10T23:00:00+00:00", "2026-03-11T00:00:00+00:00"]
    backwards = await api.json("POST", url, "user", status=422, json={
        "energyWh": 10, "start": "2026-03-10T22:30:00Z", "end": "2026-03-10T22:30:00Z"})
    assert backwards["field"] == "end"
    naive = await api.json("POST", url, "user", status=422, json={
        "energyWh": 10, "start": "2026-03-10T21:30:00", "end": "2026-03-10T22:00:00"})
    assert naive["field"] == "start"
    negative = await api.json("POST", url, "user", status=422, json={
        "energyWh": -1, "start": "2026-03-10T21:30:00Z", "end": "2026-03-10T22:00:00Z"})
    assert negative["field"] == "energyWh"


async def test_compensation_preview_at_the_end_of_time(setup: tuple[Api, InMemoryPriceStore]) -> None:
    api, _ = setup
    body = await api.json("POST", "/api/v1/v2g/compensation/calc", "user", status=422, json={
        "energyWh": 1, "start": "9999-12-31T22:00:00Z", "end": "9999-12-31T22:30:00Z"})
    assert body["missingHours"] == ["9999-12-31T22:00:00+00:00"]
