"""Unit tests for the pure V2G pricing core: split_by_hour, RetailPolicy and compensate."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.v2g.pricing import (
    Compensation,
    HourPrice,
    PriceGap,
    RetailPolicy,
    Submarket,
    compensate,
    hour_floor,
    split_by_hour,
)

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
POLICY = RetailPolicy(version="v1", alpha_ppm=1_000_000, beta_centavos_per_mwh=0, margin_bp=0)


def price(hour: datetime, pld: int) -> HourPrice:
    return HourPrice(Submarket.SE, hour, pld, False, "fixture")


def test_split_across_an_hour_boundary_interpolates_linearly() -> None:
    # 17:30 -> 18:30, 1000 Wh: half in each hour
    samples = [(T0 + timedelta(minutes=30), 5000), (T0 + timedelta(minutes=90), 6000)]
    assert split_by_hour(samples) == {T0: 500, T0 + timedelta(hours=1): 500}


def test_split_any_order_duplicates_and_a_reset() -> None:
    a = (T0 + timedelta(minutes=10), 100)
    b = (T0 + timedelta(minutes=20), 400)
    reset = (T0 + timedelta(minutes=30), 50)  # register went down: a reset, no export
    c = (T0 + timedelta(minutes=40), 150)
    assert split_by_hour([c, b, a, b, reset, a]) == {T0: 300 + 100}


def test_split_spanning_several_hours_preserves_total() -> None:
    samples = [(T0 + timedelta(minutes=59), 0), (T0 + timedelta(hours=3, minutes=1), 1001)]
    by_hour = split_by_hour(samples)
    assert sum(by_hour.values()) == 1001
    assert list(by_hour) == [T0 + timedelta(hours=h) for h in range(4)]
    # 1 + 60 + 60 + 1 minutes of 122: the two full hours get about 492 Wh each
    assert by_hour[T0 + timedelta(hours=1)] in (492, 493)


def test_split_rejects_naive_timestamps() -> None:
    with pytest.raises(ValueError, match="naive"):
        split_by_hour([(datetime(2026, 1, 1), 1), (datetime(2026, 1, 1, 1), 2)])


def test_split_in_another_timezone_keys_are_utc_hours() -> None:
    from zoneinfo import ZoneInfo

    sp = ZoneInfo("America/Sao_Paulo")
    start = datetime(2026, 3, 10, 14, 30, tzinfo=sp)  # 17:30 UTC
    by_hour = split_by_hour([(start, 0), (start + timedelta(hours=1), 100)])
    assert by_hour == {T0: 50, T0 + timedelta(hours=1): 50}
    assert all(k.tzinfo is UTC for k in by_hour)


samples_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6 * 3600 * 1_000_000).map(
            lambda us: T0 + timedelta(microseconds=us)
        ),
        st.integers(min_value=0, max_value=10_000_000),
    ),
    max_size=30,
)


@given(samples_strategy)
def test_split_never_negative_and_total_is_the_monotone_sum(
    samples: list[tuple[datetime, int]],
) -> None:
    by_hour = split_by_hour(samples)
    assert all(v > 0 for v in by_hour.values())
    ordered = sorted(samples)
    expected = sum(max(b[1] - a[1], 0) for a, b in itertools.pairwise(ordered))
    assert sum(by_hour.values()) == expected
    assert all(k == hour_floor(k) for k in by_hour)


@given(st.integers(min_value=0, max_value=10**9))
def test_split_of_a_monotone_meter_preserves_total(total: int) -> None:
    samples = [(T0 + timedelta(minutes=7), 10), (T0 + timedelta(hours=5, minutes=3), 10 + total)]
    assert sum(split_by_hour(samples).values()) == total


def test_retail_price_is_alpha_pld_plus_beta_rounded_half_even_once() -> None:
    policy = RetailPolicy("v2", alpha_ppm=1_500_000, beta_centavos_per_mwh=10_000, margin_bp=1000)
    assert policy.price_centavos_per_mwh(30_000) == 55_000
    # 0.5 x 3 = 1.5 -> 2 (half-even), 0.5 x 5 = 2.5 -> 2 (half-even)
    half = RetailPolicy("h", alpha_ppm=500_000, beta_centavos_per_mwh=0, margin_bp=0)
    assert half.price_centavos_per_mwh(3) == 2
    assert half.price_centavos_per_mwh(5) == 2


def test_compensate_equals_a_hand_computed_sum_over_an_hour_boundary() -> None:
    policy = RetailPolicy("v3", alpha_ppm=1_200_000, beta_centavos_per_mwh=20_000, margin_bp=1500)
    h0, h1 = T0, T0 + timedelta(hours=1)
    # 17:30 -> 18:30 UTC, 3000 Wh: 1500 Wh in each hour
    export = split_by_hour([(h0 + timedelta(minutes=30), 0), (h1 + timedelta(minutes=30), 3000)])
    prices = {h0: price(h0, 31_234), h1: price(h1, 51_966)}
    comp = compensate(export, prices, policy)
    # retail: 1.2 x 31234 + 20000 = 57480.8 -> 57481; 1.2 x 51966 + 20000 = 82359.2 -> 82359
    # gross: (1500 x 57481 + 1500 x 82359) / 1e6 = 86.2215 + 123.5385 = 209.76 -> 210
    # margin: 210 x 0.15 = 31.5 -> 32 (half-even); net 178
    assert comp == Compensation(
        gross_centavos=210,
        margin_centavos=32,
        net_centavos=178,
        export_wh=3000,
        policy_version="v3",
        hours=comp.hours,
    )
    assert [(s.hour_start, s.export_wh, s.price_centavos_per_mwh) for s in comp.hours] == [
        (h0, 1500, 57_481),
        (h1, 1500, 82_359),
    ]
    assert [s.gross_centavos for s in comp.hours] == ["86.2215", "123.5385"]
    assert sum(Fraction(s.gross_centavos) for s in comp.hours) == Fraction("209.76")


def test_compensate_rounds_once_not_per_hour() -> None:
    # each hour earns 0.4 centavos: rounding per hour would give 0, once gives round(1.2) = 1
    hours = [T0 + timedelta(hours=i) for i in range(3)]
    comp = compensate(dict.fromkeys(hours, 4), {h: price(h, 100_000) for h in hours}, POLICY)
    assert comp.gross_centavos == 1
    assert [s.gross_centavos for s in comp.hours] == ["0.4", "0.4", "0.4"]


def test_compensate_half_even_on_gross() -> None:
    # 25 Wh x 100000 / 1e6 = 2.5 -> 2 ; 35 Wh -> 3.5 -> 4
    assert compensate({T0: 25}, {T0: price(T0, 100_000)}, POLICY).gross_centavos == 2
    assert compensate({T0: 35}, {T0: price(T0, 100_000)}, POLICY).gross_centavos == 4


def test_compensate_price_gap_lists_the_missing_hours() -> None:
    h1, h2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    with pytest.raises(PriceGap) as info:
        compensate({T0: 10, h1: 10, h2: 0, h2 + timedelta(hours=1): 5}, {T0: price(T0, 1)}, POLICY)
    assert info.value.missing == [h1, h2 + timedelta(hours=1)]
    assert "2 hour(s)" in str(info.value)


def test_compensate_nothing_exported_is_zero() -> None:
    comp = compensate({}, {}, POLICY)
    assert (comp.gross_centavos, comp.net_centavos, comp.export_wh, comp.hours) == (0, 0, 0, [])


@given(
    st.dictionaries(
        st.integers(min_value=0, max_value=200).map(lambda i: T0 + timedelta(hours=i)),
        st.tuples(st.integers(0, 100_000), st.integers(5_000, 200_000)),
        max_size=20,
    ),
    st.integers(0, 3_000_000),
    st.integers(0, 100_000),
    st.integers(0, 10_000),
)
def test_compensate_matches_exact_arithmetic(
    data: dict[datetime, tuple[int, int]], alpha: int, beta: int, margin: int
) -> None:
    policy = RetailPolicy("p", alpha, beta, margin)
    export = {h: wh for h, (wh, _) in data.items()}
    prices = {h: price(h, pld) for h, (_, pld) in data.items()}
    comp = compensate(export, prices, policy)
    exact = sum(
        (
            Fraction(wh * (round(Fraction(alpha * pld, 10**6)) + beta), 10**6)
            for wh, pld in data.values()
        ),
        Fraction(0),
    )
    assert comp.gross_centavos == round(exact)
    assert comp.margin_centavos == round(Fraction(comp.gross_centavos * margin, 10_000))
    assert comp.net_centavos == comp.gross_centavos - comp.margin_centavos
    assert 0 <= comp.net_centavos <= comp.gross_centavos
    assert comp.export_wh == sum(export.values())
