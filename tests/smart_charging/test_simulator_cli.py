"""The simulator's --ev-max-w: a car that charges on its own, capped by the profile in force."""

from __future__ import annotations

import pytest

from sigec_actors.simulator.__main__ import parse_args
from sigec_actors.simulator.charging import drawn_w


def test_the_car_draws_its_maximum_capped_by_the_limit() -> None:
    assert drawn_w(11_000, None) == 11_000  # no profile: charges at once
    assert drawn_w(11_000, 6_000) == 6_000
    assert drawn_w(11_000, 0) == 0  # paused by the site
    assert drawn_w(7_000, -5_000) == -5_000  # a discharge profile still discharges


def test_ev_max_needs_v2g_and_a_positive_power() -> None:
    assert parse_args(["--id", "CP-1", "--v2g", "--ev-max-w", "11000"]).ev_max_w == 11_000
    with pytest.raises(SystemExit):
        parse_args(["--id", "CP-1", "--ev-max-w", "11000"])
    with pytest.raises(SystemExit):
        parse_args(["--id", "CP-1", "--v2g", "--ev-max-w", "0"])
