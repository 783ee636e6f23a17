"""The simulated station's charging-profile table: install, clear, the power in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sigec_actors.simulator.profiles import Profiles, profile_of

NOW = datetime(2026, 1, 28, 21, 0, tzinfo=UTC)
RUNNING = {1: "tx-7f3a"}


def raw(limit: float, *, pid: int = 9001, purpose: str = "TxProfile", stack: int = 2,
        tx: str | None = "tx-7f3a", **schedule: Any) -> dict[str, Any]:
    """The doc's OCPP 2.0.1 discharge profile, as the ocpp library hands it (snake_case)."""
    return {"id": pid, "stack_level": stack, "charging_profile_purpose": purpose,
            "charging_profile_kind": "Relative", "transaction_id": tx,
            "charging_schedule": [{"id": 1, "charging_rate_unit": "W", "duration": 3600,
                                   "charging_schedule_period": [
                                       {"start_period": 0, "limit": limit, "number_phases": 3}],
                                   **schedule}]}


def installed(*profiles: dict[str, Any], evse: int = 1) -> Profiles:
    table = Profiles()
    for p in profiles:
        table, status = table.install(profile_of(evse, p, NOW), RUNNING)
        assert status == "Accepted"
    return table


def test_a_negative_tx_profile_discharges_for_its_duration() -> None:
    table = installed(raw(-7000.0))
    assert table.power_w(1, "tx-7f3a", NOW) == -7000
    assert table.power_w(1, "tx-7f3a", NOW + timedelta(seconds=3599)) == -7000
    assert table.power_w(1, "tx-7f3a", NOW + timedelta(seconds=3600)) == 0
    assert table.power_w(1, "another-tx", NOW) == 0


def test_a_tx_profile_must_name_the_running_transaction_of_its_evse() -> None:
    for evse, profile in ((1, raw(-7000.0, tx="other")), (2, raw(-7000.0)),
                          (0, raw(-7000.0)), (1, raw(-7000.0, tx=None))):
        table, status = Profiles().install(profile_of(evse, profile, NOW), RUNNING)
        assert status == "Rejected" and not table.by_id


def test_periods_absolute_start_and_amps() -> None:
    start = (NOW + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    profile = raw(0, start_schedule=start, charging_rate_unit="A", charging_schedule_period=[
        {"start_period": 0, "limit": -10.0, "number_phases": 3},
        {"start_period": 900, "limit": 16.0, "number_phases": 1}])
    table = installed(profile)
    assert table.power_w(1, "tx-7f3a", NOW) == 0  # not started yet
    assert table.power_w(1, "tx-7f3a", NOW + timedelta(minutes=10)) == -6900
    assert table.power_w(1, "tx-7f3a", NOW + timedelta(minutes=25)) == 3680


def test_highest_stack_wins_and_tx_profile_beats_tx_default() -> None:
    table = installed(raw(11000.0, pid=1, purpose="TxDefaultProfile", stack=9, tx=None),
                      raw(-3000.0, pid=2, stack=1), raw(-5000.0, pid=3, stack=4))
    assert table.power_w(1, "tx-7f3a", NOW) == -5000
    table, _ = table.clear(3)
    assert table.power_w(1, "tx-7f3a", NOW) == -3000
    table, _ = table.clear(2)
    assert table.power_w(1, "tx-7f3a", NOW) == 11000


def test_same_evse_purpose_and_stack_replaces() -> None:
    table = installed(raw(-3000.0, pid=1), raw(-4000.0, pid=2))
    assert set(table.by_id) == {2}
    assert table.power_w(1, "tx-7f3a", NOW) == -4000


def test_clear_by_id_or_criteria_answers_unknown_when_nothing_matches() -> None:
    table = installed(raw(-7000.0))
    assert table.clear(1234)[1] == "Unknown"
    assert table.clear(criteria={"evse_id": 2})[1] == "Unknown"
    assert table.clear(criteria={"charging_profile_purpose": "TxDefaultProfile"})[1] == "Unknown"
    cleared, status = table.clear(criteria={"evse_id": 1, "charging_profile_purpose": "TxProfile",
                                            "stack_level": 2})
    assert status == "Accepted" and not cleared.by_id
    cleared, status = table.clear(9001)
    assert status == "Accepted" and cleared.power_w(1, "tx-7f3a", NOW) == 0
    assert cleared.clear(9001)[1] == "Unknown"


def test_an_ended_transaction_takes_its_tx_profiles_with_it() -> None:
    table = installed(raw(-7000.0), raw(7000.0, pid=5, purpose="TxDefaultProfile", tx=None))
    assert set(table.end_transaction("tx-7f3a").by_id) == {5}
