"""EV charging plans: the cheapest hours first, enough energy before departure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.smart_charging.schedule import (
    Needs,
    TariffWindow,
    capped,
    hour_costs,
    plan,
)

NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
H = timedelta(hours=1)


def test_cheapest_hours_first_and_nothing_after_the_energy() -> None:
    prices = {NOW.replace(minute=0) + i * H: p for i, p in enumerate([50, 40, 10, 20, 90])}
    needs = Needs(energy_wh=15_000, max_w=11_000, departure=NOW + 4 * H)
    # hours: 10:30-11 (50), 11-12 (40), 12-13 (10), 13-14 (20), 14-14:30 (90)
    assert plan(NOW, needs, 22_000, prices) == [(0, 0), (5400, 11_000), (9000, 4_000),
                                                (12600, 0)]


def test_nothing_to_plan_without_energy_or_departure() -> None:
    assert plan(NOW, Needs(energy_wh=None, max_w=7_000, departure=NOW + H), 7_000, {}) is None
    assert plan(NOW, Needs(energy_wh=5_000, max_w=7_000, departure=None), 7_000, {}) is None
    assert plan(NOW, Needs(energy_wh=5_000, max_w=7_000, departure=NOW), 7_000, {}) is None


@settings(max_examples=100, deadline=None)
@given(energy=st.integers(1, 200_000), max_w=st.integers(1_000, 50_000),
       cap=st.integers(1_000, 50_000), hours=st.integers(1, 12),
       prices=st.lists(st.integers(0, 100_000), min_size=13, max_size=13))
def test_never_above_the_cap_and_enough_energy_when_possible(
        energy: int, max_w: int, cap: int, hours: int, prices: list[int]) -> None:
    table = {NOW.replace(minute=0) + i * H: p for i, p in enumerate(prices)}
    departure = NOW + hours * H
    periods = plan(NOW, Needs(energy_wh=energy, max_w=max_w, departure=departure), cap,
                   table, max_periods=1000)
    assert periods is not None and periods[0][0] == 0
    ends = [s for s, _ in periods[1:]] + [int((departure - NOW).total_seconds())]
    delivered = sum(w * (end - s) for (s, w), end in zip(periods, ends, strict=True)) / 3600
    assert all(0 <= w <= min(max_w, cap) for _, w in periods)
    possible = min(max_w, cap) * hours
    assert delivered >= min(energy, possible) - 1


def test_a_plan_capped_at_the_site_share_merges_equal_periods() -> None:
    assert capped([(0, 11_000), (3600, 4_000), (7200, 0)], 5_000) == [
        (0, 5_000), (3600, 4_000), (7200, 0)]
    assert capped([(0, 11_000), (3600, 9_000)], 5_000) == [(0, 5_000)]
    assert capped([(0, 11_000)], None) == [(0, 11_000)]



def test_a_cheaper_tariff_window_is_planned_first_like_a_cheaper_grid_hour() -> None:
    start = NOW.replace(minute=0)  # 10:00; hours 10, 11, 12, 13 at a flat grid price
    grid = {start + i * H: 30_000 for i in range(4)}
    tariffs = [TariffWindow(valid_from=start - 9 * H, valid_to=start + 2 * H,
                            price_per_kwh_centavos=120),
               TariffWindow(valid_from=start + 2 * H, valid_to=None, price_per_kwh_centavos=80),
               TariffWindow(valid_from=start + 3 * H, valid_to=None, price_per_kwh_centavos=100,
                            specificity=1)]  # the station's own beats the network's
    costs = hour_costs(grid, tariffs)
    assert [costs[start + i * H] for i in range(4)] == [150_000, 150_000, 110_000, 130_000]
    needs = Needs(energy_wh=11_000, max_w=11_000, departure=NOW + 3 * H + H / 2)
    assert plan(NOW, needs, 22_000, costs) == [(0, 0), (5400, 11_000), (9000, 0)]
