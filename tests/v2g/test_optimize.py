"""The V2G discharge planner: best-paid hours first, within the SoC floor, power and departure."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.routes.v2g_optimize import SESSIONS_KEY
from api.routes.v2g_prices import EXTRAS_KEY as PRICES_KEY
from api.routes.v2g_prices import PricePorts
from sigec_actors.testing.v2g import InMemoryPriceStore
from sigec_actors.v2g.optimize import Car, PlanRefused, plan
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import HourPrice, RetailPolicy, Submarket, hour_floor
from sigec_actors.v2g.service import GridPriceService
from sigec_actors.v2g_session.queries import Preferences
from tests.api.harness import Api, start_api

NOW = datetime(2026, 1, 28, 12, 30, tzinfo=UTC)
H12 = datetime(2026, 1, 28, 12, tzinfo=UTC)
POLICY = RetailPolicy("v1", alpha_ppm=1_000_000, beta_centavos_per_mwh=0, margin_bp=1000)
CAR = Car(soc=80, min_soc=65, capacity_wh=60_000, max_discharge_w=7_000)  # 9 kWh above floor


def prices(*plds: int | None, start: datetime = H12) -> list[HourPrice]:
    return [HourPrice(Submarket.SE, start + timedelta(hours=i), pld, False, "fixture")
            for i, pld in enumerate(plds) if pld is not None]


def at(hour: int, seconds: int = 0) -> datetime:
    return H12.replace(hour=hour) + timedelta(seconds=seconds)


def test_dearest_hours_first_and_the_last_window_is_shortened() -> None:
    # 12h (half gone) 300.00, 13h 500.00, 14h 200.00, 15h 519.66, 16h 400.00 R$/MWh; leave 17h
    result = plan(NOW, at(17), CAR, prices(30_000, 50_000, 20_000, 51_966, 40_000), POLICY)
    assert [(w.start, w.end, w.power_w, w.expected_wh, w.price_centavos_per_mwh)
            for w in result.windows] == [
        (at(13), at(13, 1029), 7_000, 2_000, 50_000),  # 2 kWh at 7 kW: 1028.6 s, rounded up
        (at(15), at(16), 7_000, 7_000, 51_966)]
    # 2 kWh x 500.00 + 7 kWh x 519.66 R$/MWh = 100 + 363.762 = 463.762 centavos -> gross 464;
    # margin 10 % = 46.4 -> 46; net 418
    assert (result.expected_wh, result.expected_earnings_centavos) == (9_000, 418)
    assert result.policy_version == "v1"


def test_the_retail_policy_ranks_and_prices_the_hours() -> None:
    policy = RetailPolicy("v2", alpha_ppm=1_500_000, beta_centavos_per_mwh=10_000, margin_bp=0)
    car = Car(soc=50, min_soc=40, capacity_wh=30_000, max_discharge_w=3_000)  # 3 kWh
    result = plan(NOW, at(15), car, prices(None, 40_000, 60_000), policy)
    assert [(w.start, w.expected_wh, w.price_centavos_per_mwh) for w in result.windows] == [
        (at(14), 3_000, 100_000)]
    assert result.expected_earnings_centavos == 300  # 3 kWh x R$1000/MWh


def test_the_hour_under_way_counts_only_what_is_left_of_it() -> None:
    result = plan(NOW, at(14), CAR, prices(90_000, 10_000), POLICY)
    assert [(w.start, w.end, w.expected_wh) for w in result.windows] == [
        (NOW, at(13), 3_500), (at(13), at(13, 2829), 5_500)]


def test_departure_mid_hour_cuts_the_last_hour() -> None:
    result = plan(NOW, at(13, 900), CAR, prices(10_000, 90_000, 90_000), POLICY)
    assert [(w.start, w.end, w.expected_wh) for w in result.windows] == [
        (NOW, at(13), 3_500), (at(13), at(13, 900), 1_750)]


def test_nothing_above_the_floor_or_nothing_priced_plans_nothing() -> None:
    low = Car(soc=30, min_soc=30, capacity_wh=60_000, max_discharge_w=7_000)
    below = Car(soc=20, min_soc=30, capacity_wh=60_000, max_discharge_w=7_000)
    for car, priced in ((low, prices(50_000, 50_000)), (below, prices(50_000)),
                        (CAR, []), (CAR, prices(50_000, start=at(20)))):
        result = plan(NOW, at(17), car, priced, POLICY)
        assert (result.windows, result.expected_wh, result.expected_earnings_centavos) == (
            [], 0, 0)


def test_a_price_that_is_not_positive_is_never_planned() -> None:
    policy = RetailPolicy("neg", alpha_ppm=1_000_000, beta_centavos_per_mwh=-60_000, margin_bp=0)
    result = plan(NOW, at(15), CAR, prices(None, 50_000, 70_000), policy)
    assert [(w.start, w.price_centavos_per_mwh) for w in result.windows] == [(at(14), 10_000)]


@pytest.mark.parametrize(("departure", "problem"), [
    (NOW, "is not in the future"), (NOW - timedelta(minutes=1), "is not in the future"),
    (NOW + timedelta(days=7, seconds=1), "is more than 7 days ahead")])
def test_departure_must_be_ahead_and_within_a_week(departure: datetime, problem: str) -> None:
    with pytest.raises(PlanRefused) as caught:
        plan(NOW, departure, CAR, prices(50_000), POLICY)
    assert (caught.value.field, caught.value.problem) == ("departureAt", problem)


@given(
    now_s=st.integers(0, 3_599),
    horizon_s=st.integers(1, 7 * 86_400),
    plds=st.lists(st.one_of(st.none(), st.integers(5_731, 161_104)), min_size=1, max_size=60),
    soc=st.integers(0, 100), floor=st.integers(0, 100),
    capacity=st.integers(1_000, 200_000), max_w=st.integers(1, 350_000),
    beta=st.integers(-50_000, 50_000), margin=st.integers(0, 10_000))
def test_plan_invariants(now_s: int, horizon_s: int, plds: list[int | None], soc: int,
                         floor: int, capacity: int, max_w: int, beta: int, margin: int) -> None:
    now = H12 + timedelta(seconds=now_s)
    departure = now + timedelta(seconds=horizon_s)
    car = Car(soc=soc, min_soc=floor, capacity_wh=capacity, max_discharge_w=max_w)
    policy = RetailPolicy("h", alpha_ppm=1_000_000, beta_centavos_per_mwh=beta, margin_bp=margin)
    priced = prices(*plds)
    result = plan(now, departure, car, priced, policy)
    windows = result.windows
    # never below the floor
    assert sum(w.expected_wh for w in windows) == result.expected_wh <= car.available_wh
    assert result.expected_earnings_centavos >= 0
    for w in windows:
        seconds = (w.end - w.start).total_seconds()
        assert now <= w.start < w.end <= departure  # never before now nor past departure
        assert hour_floor(w.start) == hour_floor(w.end - timedelta(microseconds=1))
        assert w.power_w <= max_w  # never above the station's power
        assert 0 < w.expected_wh <= w.power_w * seconds / 3600
        assert w.price_centavos_per_mwh > 0
    assert all(a.end <= b.start for a, b in pairwise(windows))
    # no unused hour that could hold energy pays more than a chosen one
    chosen = {hour_floor(w.start) for w in windows}
    cheapest = min((w.price_centavos_per_mwh for w in windows), default=None)
    left = car.available_wh - result.expected_wh
    for p in priced:
        start, end = max(p.hour_start, now), min(p.hour_start + timedelta(hours=1), departure)
        room = max_w * int((end - start).total_seconds()) // 3600 if start < end else 0
        retail = policy.price_centavos_per_mwh(p.pld_centavos_per_mwh)
        if p.hour_start in chosen or room <= 0 or retail <= 0:
            continue
        assert left == 0, "energy left over while a priced hour was unused"
        assert cheapest is None or retail <= cheapest


# -- POST /api/v1/v2g/optimize -------------------------------------------------------------------


class FakeCapability(msgspec.Struct, frozen=True):
    max_discharge_w: int | None
    evses: list[EvseCapability]


class EvseCapability(msgspec.Struct, frozen=True):
    evse_id: int
    current_soc: int | None


class FakeCapabilities:
    """The capability query of the discharge-session wiring, in memory."""

    def __init__(self, caps: dict[str, FakeCapability]) -> None:
        self.caps = caps

    async def capability(self, station_id: str) -> FakeCapability | None:
        return self.caps.get(station_id)


class FakeSessions:
    def __init__(self, queries: FakeCapabilities) -> None:
        self.queries = queries


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    api = await start_api()
    hour = hour_floor(api.clock())
    store = InMemoryPriceStore({"CP-1": Submarket.NE, "CP-2": None})
    # NE: the current hour 300.00, then 500.00, 200.00, 519.66 R$/MWh; SE: 100.00 flat
    await store.upsert([HourPrice(Submarket.NE, hour + timedelta(hours=i), pld, False, "ccee")
                        for i, pld in enumerate((30_000, 50_000, 20_000, 51_966))])
    await store.upsert([HourPrice(Submarket.SE, hour + timedelta(hours=i), 10_000, False, "ccee")
                        for i in range(4)])
    api.ctx.extras[PRICES_KEY] = PricePorts(
        prices=GridPriceService(store, "ccee", PeakWindow()), stations=store, policy=POLICY,
        default_submarket=Submarket.SE)
    api.ctx.extras[SESSIONS_KEY] = FakeSessions(FakeCapabilities({
        "CP-1": FakeCapability(7_000, [EvseCapability(1, 80)]),
        "CP-2": FakeCapability(None, [EvseCapability(1, None)])}))
    yield api
    await api.close()


def _body(api: Api, station: str, hours: float, **extra: Any) -> dict[str, Any]:
    departure = hour_floor(api.clock()) + timedelta(hours=hours)
    return {"chargePointId": station, "departureAt": departure.isoformat(), **extra}


async def test_optimize_plans_the_dearest_hours_of_the_station_submarket(api: Api) -> None:
    hour = hour_floor(api.clock())
    body = await api.json("POST", "/api/v1/v2g/optimize", "user",
                          json=_body(api, "CP-1", 4, minSoc=65))  # 9 kWh above the floor
    assert [(w["start"], w["powerW"], w["expectedWh"], w["priceCentavosPerKwh"])
            for w in body["windows"]] == [
        ((hour + timedelta(hours=1)).isoformat().replace("+00:00", "Z"), 7_000, 2_000, 50),
        ((hour + timedelta(hours=3)).isoformat().replace("+00:00", "Z"), 7_000, 7_000, 52)]
    assert (body["expectedEarningsCentavos"], body["submarket"], body["currentSoc"],
            body["maxDischargeW"], body["batteryCapacityWh"]) == (418, "NE", 80, 7_000, 60_000)


async def test_optimize_without_reported_soc_uses_the_request_and_defaults(api: Api) -> None:
    body = await api.json("POST", "/api/v1/v2g/optimize", "other", json=_body(
        api, "CP-2", 4, minSoc=40, currentSoc=50, batteryCapacityWh=20_000))
    assert (body["submarket"], body["currentSoc"], body["maxDischargeW"]) == ("SE", 50, 7_000)
    assert body["expectedWh"] == 2_000
    floor = await api.json("POST", "/api/v1/v2g/optimize", "user",
                           json=_body(api, "CP-2", 4, minSoc=80))
    assert (floor["currentSoc"], floor["windows"], floor["expectedEarningsCentavos"]) == (
        80, [], 0)


class PreservingQueries(FakeCapabilities):
    """Capabilities plus the caller's preferences (preserveSoc 70) and no transaction."""

    async def preferences(self, user_id: uuid.UUID) -> Preferences:
        return Preferences(preserve_soc=70)

    async def active_transaction(self, station_id: str, evse_id: int | None) -> None:
        return None


async def test_the_callers_preserve_soc_raises_the_planning_floor(api: Api) -> None:
    hour = hour_floor(api.clock())
    api.ctx.extras[SESSIONS_KEY] = FakeSessions(PreservingQueries({
        "CP-1": FakeCapability(7_000, [EvseCapability(1, 80)])}))
    body = await api.json("POST", "/api/v1/v2g/optimize", "user",
                          json=_body(api, "CP-1", 4, minSoc=65))  # 6 kWh above 70 %, not 9
    assert (body["minSoc"], body["expectedWh"]) == (70, 6_000)
    assert [(w["start"], w["expectedWh"]) for w in body["windows"]] == [
        ((hour + timedelta(hours=3)).isoformat().replace("+00:00", "Z"), 6_000)]


async def test_optimize_refusals(api: Api) -> None:
    url = "/api/v1/v2g/optimize"
    await api.json("POST", url, None, status=401, json=_body(api, "CP-1", 4, minSoc=20))
    await api.json("POST", url, "user", status=404, json=_body(api, "CP-9", 4, minSoc=20))
    for hours in (-1, 0, 7 * 24 + 1):
        problem = await api.json("POST", url, "user", status=422,
                                 json=_body(api, "CP-1", hours, minSoc=20))
        assert "departureAt" in str(problem)
    await api.json("POST", url, "user", status=422, json=_body(api, "CP-1", 4, minSoc=101))
    del api.ctx.extras[SESSIONS_KEY]
    await api.json("POST", url, "user", status=503, json=_body(api, "CP-1", 4, minSoc=20))
