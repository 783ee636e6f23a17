"""Smart charging's station handlers refuse what their tables cannot hold, before any write."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201
from sigec_actors.smart_charging.handlers import SmartChargingHandlers

PROFILE = {"id": 1, "stackLevel": -1, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Relative", "chargingSchedule": [{
               "id": 1, "chargingRateUnit": "W",
               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}]}]}
SCHEDULE = {"id": 1, "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}]}


class NoWrites:
    """Every store call fails the test: a refusal must come first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"store.{name} called")


def handlers() -> SmartChargingHandlers:
    async def nothing(*_: Any) -> Any:
        raise AssertionError("called")

    return SmartChargingHandlers(NoWrites(), NoWrites(), nothing, nothing)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "kind", "payload", "path"), [
    ("report_profiles", v201.ReportChargingProfilesRequest, {
        "requestId": 1, "chargingLimitSource": "CSO", "evseId": -1,
        "chargingProfile": [{**PROFILE, "stackLevel": 0}]}, "$.evseId"),
    ("report_profiles", v201.ReportChargingProfilesRequest, {
        "requestId": 1, "chargingLimitSource": "CSO", "evseId": 0,
        "chargingProfile": [PROFILE]}, "$.chargingProfile[0].stackLevel"),
    ("charging_limit", v201.NotifyChargingLimitRequest, {
        "evseId": -2, "chargingLimit": {"chargingLimitSource": "EMS"}}, "$.evseId"),
    ("ev_schedule", v201.NotifyEVChargingScheduleRequest, {
        "timeBase": "2026-12-02T10:00:00Z", "evseId": 0, "chargingSchedule": SCHEDULE},
     "$.evseId"),
])
async def test_refused_with_property_constraint_violation(
        method: str, kind: type[msgspec.Struct], payload: dict[str, Any], path: str) -> None:
    request = msgspec.convert(payload, kind)
    with pytest.raises(PayloadError) as refused:
        await getattr(handlers(), method)("CP-1", request)
    assert refused.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert refused.value.path == path
