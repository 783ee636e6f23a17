"""The simulated battery's physics: exact energy, registers, the empty and full ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.simulator.battery import MJ_PER_WH, Battery


def test_discharge_at_7kw_for_an_hour_exports_7kwh_and_lowers_the_soc() -> None:
    b = Battery.at_soc(60_000, 80).command(-7_000)
    for _ in range(360):
        b = b.step(10_000)
    assert (b.export_wh, b.import_wh, b.export_power_w) == (7_000, 0, 7_000)
    assert b.soc == pytest.approx(80 - 7_000 / 600, abs=0.1)


def test_a_positive_command_charges_and_the_import_register_grows() -> None:
    b = Battery.at_soc(60_000, 50).command(11_000).step(3_600_000)
    assert (b.import_wh, b.export_wh, b.import_power_w, b.export_power_w) == (11_000, 0, 11_000, 0)
    assert b.soc == pytest.approx(50 + 11_000 / 600, abs=0.1)


def test_idle_moves_nothing() -> None:
    b = Battery.at_soc(60_000, 80).step(3_600_000)
    assert (b.import_mj, b.export_mj, b.soc, b.flowing_w) == (0, 0, 80.0, 0)


def test_discharge_stops_at_empty_and_power_drops_to_zero() -> None:
    b = Battery.at_soc(10_000, 10).command(-7_000).step(3_600_000)
    assert (b.export_wh, b.soc, b.export_power_w, b.power_w) == (1_000, 0.0, 0, -7_000)


def test_charge_stops_at_full() -> None:
    b = Battery.at_soc(10_000, 95).command(7_000).step(3_600_000)
    assert (b.import_wh, b.soc, b.import_power_w) == (500, 100.0, 0)


def test_soc_is_rounded_down_to_a_tenth() -> None:
    b = Battery.at_soc(60_000, 80).command(-7_000).step(1_000)  # 1.94 Wh out
    assert b.soc == 79.9


@pytest.mark.parametrize(("capacity", "soc"), [(0, 50), (-1, 50), (1_000, -1), (1_000, 101)])
def test_bad_construction_is_refused(capacity: int, soc: float) -> None:
    with pytest.raises(ValueError, match="must"):
        Battery.at_soc(capacity, soc)


def test_negative_time_is_refused() -> None:
    with pytest.raises(ValueError, match="dt_ms"):
        Battery.at_soc(1_000, 50).step(-1)


@given(start=st.integers(0, 100),
       steps=st.lists(st.tuples(st.integers(-22_000, 22_000), st.integers(0, 600_000)),
                      max_size=30))
def test_energy_is_conserved_and_stays_within_the_battery(
        start: int, steps: list[tuple[int, int]]) -> None:
    b0 = b = Battery.at_soc(40_000, start)
    for power, dt in steps:
        before = b
        b = b.command(power).step(dt)
        assert 0 <= b.stored_mj <= b.capacity_mj
        assert b.import_mj >= before.import_mj and b.export_mj >= before.export_mj
        assert abs(b.stored_mj - before.stored_mj) <= abs(power) * dt
    assert b.stored_mj == b0.stored_mj + b.import_mj - b.export_mj
    assert b.export_wh == b.export_mj // MJ_PER_WH
