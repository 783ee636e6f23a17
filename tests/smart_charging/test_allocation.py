"""Site allocation properties: never above the limit, floors when the limit allows, stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.smart_charging.allocation import (
    Demand,
    SitePolicy,
    Strategy,
    allocate,
    changed,
)

FEW = settings(max_examples=60, deadline=None)


@st.composite
def sites(draw: st.DrawFn) -> tuple[SitePolicy, list[Demand]]:
    count = draw(st.integers(0, 25))
    demands = []
    for i in range(count):
        fixed = draw(st.none() | st.integers(-11_000, 22_000))
        demands.append(Demand(key=(f"CP-{i % 7}", i), max_w=draw(st.integers(0, 50_000)),
                              priority=draw(st.integers(0, 3)), order=draw(st.integers(0, 5)),
                              fixed_w=fixed))
    policy = SitePolicy(limit_w=draw(st.integers(0, 300_000)),
                        strategy=draw(st.sampled_from(list(Strategy))),
                        floor_w=draw(st.integers(0, 7_400)))
    return policy, demands


@FEW
@given(sites())
def test_never_above_the_limit_and_never_negative(site: tuple[SitePolicy, list[Demand]]) -> None:
    policy, demands = site
    result = allocate(policy, demands)
    fixed = sum(d.fixed_w for d in demands if d.fixed_w is not None)
    assert set(result) == {d.key for d in demands if d.fixed_w is None}
    assert all(w >= 0 for w in result.values())
    assert sum(result.values()) <= max(policy.limit_w - fixed, 0)
    assert all(result[d.key] <= max(d.max_w, 0) for d in demands if d.fixed_w is None)


@FEW
@given(sites())
def test_every_evse_gets_its_floor_when_the_limit_allows(
        site: tuple[SitePolicy, list[Demand]]) -> None:
    policy, demands = site
    result = allocate(policy, demands)
    flexible = [d for d in demands if d.fixed_w is None]
    fixed = sum(d.fixed_w for d in demands if d.fixed_w is not None)
    floors = sum(min(policy.floor_w, d.max_w) for d in flexible)
    if floors <= policy.limit_w - fixed:
        assert all(result[d.key] >= min(policy.floor_w, d.max_w) for d in flexible)
    else:  # the limit forces it: whoever charges still gets the floor, nobody less
        assert all(w == 0 or w >= min(policy.floor_w, d.max_w)
                   for d in flexible for w in [result[d.key]])


@FEW
@given(sites())
def test_stable_when_nothing_changed(site: tuple[SitePolicy, list[Demand]]) -> None:
    policy, demands = site
    first = allocate(policy, demands)
    assert allocate(policy, list(reversed(demands))) == first
    assert changed(first, allocate(policy, demands)) == {}


@FEW
@given(sites())
def test_fair_share_uses_the_budget_that_the_cars_can_take(
        site: tuple[SitePolicy, list[Demand]]) -> None:
    policy, demands = site
    result = allocate(policy, demands)
    fixed = sum(d.fixed_w for d in demands if d.fixed_w is not None)
    budget = max(policy.limit_w - fixed, 0)
    charging = [d for d in demands if d.fixed_w is None and result[d.key] > 0]
    if charging and all(result[d.key] < d.max_w for d in charging):
        # nobody is capped by the car: only rounding (< 1 W per EVSE) or a paused EVSE's
        # floor that did not fit is left over
        left = budget - sum(result.values())
        assert left < len(charging) + policy.floor_w


def test_fair_splits_equally_and_caps_the_small_cars() -> None:
    policy = SitePolicy(limit_w=100_000, floor_w=4_140)
    demands = [Demand(key=("A", 1), max_w=7_000), Demand(key=("B", 1), max_w=50_000),
               Demand(key=("C", 1), max_w=50_000)]
    assert allocate(policy, demands) == {("A", 1): 7_000, ("B", 1): 46_500,
                                         ("C", 1): 46_500}


def test_discharge_is_negative_load_and_an_offline_station_keeps_its_allocation() -> None:
    policy = SitePolicy(limit_w=20_000, floor_w=1_000)
    demands = [Demand(key=("V2G", 1), max_w=0, fixed_w=-10_000),
               Demand(key=("OFF", 1), max_w=22_000, fixed_w=6_000),
               Demand(key=("A", 1), max_w=22_000), Demand(key=("B", 1), max_w=22_000)]
    assert allocate(policy, demands) == {("A", 1): 12_000, ("B", 1): 12_000}


def test_too_many_cars_for_their_floors_pauses_the_latest() -> None:
    policy = SitePolicy(limit_w=10_000, floor_w=4_000)
    demands = [Demand(key=(f"CP-{i}", 1), max_w=22_000, order=i) for i in range(3)]
    assert allocate(policy, demands) == {("CP-0", 1): 5_000, ("CP-1", 1): 5_000,
                                         ("CP-2", 1): 0}


def test_priority_fills_the_first_after_everyone_has_a_floor() -> None:
    policy = SitePolicy(limit_w=30_000, strategy=Strategy.PRIORITY, floor_w=2_000)
    demands = [Demand(key=("LOW", 1), max_w=22_000, priority=0),
               Demand(key=("HIGH", 1), max_w=22_000, priority=5),
               Demand(key=("MID", 1), max_w=22_000, priority=1)]
    assert allocate(policy, demands) == {("HIGH", 1): 22_000, ("MID", 1): 6_000,
                                         ("LOW", 1): 2_000}
