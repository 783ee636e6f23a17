"""Tariff arithmetic: integer centavos, one half-even rounding, most specific tariff wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.transactions.tariffs import (
    Tariff,
    Usage,
    breakdown,
    centavos_to_wire,
    cost_centavos,
    pick,
    round_half_even,
)
from tests.transactions.builders import T0


@pytest.mark.parametrize(("num", "den", "want"), [
    (5, 2, 2), (7, 2, 4), (-5, 2, -2), (1, 3, 0), (2, 3, 1), (150, 100, 2), (250, 100, 2),
])
def test_round_half_even(num: int, den: int, want: int) -> None:
    assert round_half_even(num, den) == want


def test_energy_price_is_exact_and_rounded_once() -> None:
    t = Tariff(price_per_kwh_centavos=199)
    # 1,234 Wh at R$1,99/kWh = 245.566 centavos -> 246
    assert cost_centavos(t, Usage(energy_wh=1234)) == 246
    # 2.5 centavos is a tie: half to even -> 2
    assert cost_centavos(Tariff(price_per_kwh_centavos=1), Usage(energy_wh=2500)) == 2


def test_components_are_summed_before_rounding() -> None:
    t = Tariff(price_per_kwh_centavos=1, per_minute_centavos=1, idle_per_minute_centavos=1)
    # 0.4 + 0.4 + 0.4 = 1.2 -> 1 (rounding each part first would give 0)
    usage = Usage(energy_wh=400, charging_s=24, idle_s=24)
    assert cost_centavos(t, usage) == 1
    b = breakdown(t, usage)
    assert (b.energy_millicentavos, b.time_millicentavos, b.idle_millicentavos) == (400, 400, 400)


def test_session_fee_only_when_energy_flowed() -> None:
    t = Tariff(session_fee_centavos=300, per_minute_centavos=10)
    assert cost_centavos(t, Usage(energy_wh=0, charging_s=60)) == 10
    assert cost_centavos(t, Usage(energy_wh=1, charging_s=60)) == 310


def test_tariff_rejects_float_or_negative_prices() -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        Tariff(price_per_kwh_centavos=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        Tariff(session_fee_centavos=-1)


@given(st.integers(0, 10**9))
def test_wire_amount_prints_the_exact_decimal(centavos: int) -> None:
    assert repr(centavos_to_wire(centavos)) == repr(float(f"{centavos // 100}.{centavos % 100:02d}"))
    assert f"{centavos_to_wire(centavos):.2f}".replace(".", "").lstrip("0") == (
        str(centavos).lstrip("0"))


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(0, 10**6))
def test_cost_is_monotonic_in_usage(wh: int, charging: int, idle: int) -> None:
    t = Tariff(price_per_kwh_centavos=97, per_minute_centavos=13, idle_per_minute_centavos=7)
    base = cost_centavos(t, Usage(energy_wh=wh, charging_s=charging, idle_s=idle))
    assert cost_centavos(t, Usage(energy_wh=wh + 1, charging_s=charging, idle_s=idle)) >= base
    assert isinstance(base, int)


def test_most_specific_valid_tariff_wins() -> None:
    default = Tariff(price_per_kwh_centavos=1)
    network = Tariff(price_per_kwh_centavos=2, valid_from=T0 - timedelta(days=1))
    station = Tariff(price_per_kwh_centavos=3, charge_point_id="CP1", valid_from=T0)
    evse = Tariff(price_per_kwh_centavos=4, charge_point_id="CP1", evse_id=1,
                  valid_from=T0 + timedelta(hours=1))
    connector = Tariff(price_per_kwh_centavos=5, charge_point_id="CP1", evse_id=2,
                       connector_id=1, valid_from=T0 - timedelta(days=1),
                       valid_to=T0 + timedelta(days=1))
    all_ = [network, station, evse, connector]
    assert pick([], "CP1", 1, 1, T0, default) is default
    assert pick(all_, "CP1", 1, 1, T0, default) is station  # EVSE tariff not valid yet
    assert pick(all_, "CP1", 1, 1, T0 + timedelta(hours=2), default) is evse
    assert pick(all_, "CP1", 2, 1, T0, default) is connector
    assert pick(all_, "CP1", 2, 1, T0 + timedelta(days=2), default) is station
    assert pick(all_, "CP9", 1, 1, T0, default) is network
