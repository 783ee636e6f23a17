"""Profile validation: each OCPP 2.0.1 rule and the station's reported limits name their field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sigec_actors.ocpp.generated import v201
from sigec_actors.smart_charging.profiles import (
    ProfileInvalid,
    StationLimits,
    limits_of,
    validate,
)

AT = "chargingProfile"


def profile(**changes: Any) -> v201.ChargingProfile:
    raw: dict[str, Any] = {
        "id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative", "chargingSchedule": [{
            "id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 6000}, {"startPeriod": 600, "limit": 3000}]}]}
    schedule = changes.pop("schedule", {})
    raw["chargingSchedule"][0].update(schedule)
    raw.update(changes)
    return msgspec.convert(raw, v201.ChargingProfile)


def test_a_plain_default_profile_passes() -> None:
    validate(1, profile(), StationLimits())


@pytest.mark.parametrize(("evse", "changes", "field"), [
    (1, {"chargingProfilePurpose": "TxProfile"}, f"{AT}.transactionId"),
    (0, {"chargingProfilePurpose": "TxProfile", "transactionId": "t"}, "evseId"),
    (1, {"transactionId": "t"}, f"{AT}.transactionId"),
    (1, {"chargingProfilePurpose": "ChargingStationMaxProfile"}, "evseId"),
    (0, {"chargingProfilePurpose": "ChargingStationExternalConstraints"},
     f"{AT}.chargingProfilePurpose"),
    (1, {"id": 0}, f"{AT}.id"),
    (1, {"stackLevel": -1}, f"{AT}.stackLevel"),
    (1, {"stackLevel": 101}, f"{AT}.stackLevel"),
    (1, {"validFrom": "2026-12-02T10:00:00Z", "validTo": "2026-12-02T09:00:00Z"},
     f"{AT}.validTo"),
    (1, {"chargingProfileKind": "Absolute"}, f"{AT}.chargingSchedule"),
    (1, {"schedule": {"startSchedule": "2026-12-02T10:00:00Z"}}, f"{AT}.chargingSchedule"),
    (1, {"chargingProfileKind": "Recurring",
         "schedule": {"startSchedule": "2026-12-02T10:00:00Z"}}, f"{AT}.recurrencyKind"),
    (1, {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 5, "limit": 1}]}},
     f"{AT}.chargingSchedule[0].chargingSchedulePeriod[0].startPeriod"),
    (1, {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1},
                                                 {"startPeriod": 0, "limit": 2}]}},
     f"{AT}.chargingSchedule[0].chargingSchedulePeriod[1].startPeriod"),
    (1, {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": -1}]}},
     f"{AT}.chargingSchedule[0].chargingSchedulePeriod[0].limit"),
    (1, {"schedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1,
                                                  "phaseToUse": 2}]}},
     f"{AT}.chargingSchedule[0].chargingSchedulePeriod[0].phaseToUse"),
    (1, {"schedule": {"duration": 0}}, f"{AT}.chargingSchedule[0].duration"),
])
def test_each_rule_names_its_field(evse: int, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProfileInvalid) as refused:
        validate(evse, profile(**changes), StationLimits())
    assert refused.value.field == field


def test_what_the_station_reported_limits_the_profile() -> None:
    limits = limits_of({"RateUnit": "A", "PeriodsPerSchedule": "1", "ProfileStackLevel": "x"})
    assert limits == StationLimits(rate_units=frozenset({"A"}), periods_per_schedule=1)
    with pytest.raises(ProfileInvalid) as refused:
        validate(1, profile(), limits)
    assert refused.value.field == f"{AT}.chargingSchedule[0].chargingRateUnit"
    with pytest.raises(ProfileInvalid) as refused:
        validate(1, profile(schedule={"chargingRateUnit": "A"}), limits)
    assert refused.value.field == f"{AT}.chargingSchedule[0].chargingSchedulePeriod"
