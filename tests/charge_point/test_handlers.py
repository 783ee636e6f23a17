"""Feature packages answer station messages through StationHandlers, not the actor."""

from __future__ import annotations

import asyncpg
import pytest

from sigec_actors.charge_point.handlers import HandlerConflict, StationHandlers
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.test_inbound import booted

CHARGING_LIMIT = {"chargingLimit": {"chargingLimitSource": "EMS"}}


async def test_a_registered_handler_answers_what_was_not_supported(
        harness: ChargePointHarness) -> None:
    seen: list[tuple[str, str]] = []

    async def limit(station_id: str, req: m.NotifyChargingLimitRequest
                    ) -> m.NotifyChargingLimitResponse:
        seen.append((station_id, req.charging_limit.charging_limit_source.value))
        return m.NotifyChargingLimitResponse()

    harness.deps.handlers.handle(m.NotifyChargingLimitRequest, limit)
    link, sink = await booted(harness)
    answer = await harness.call(sink, link, "NotifyChargingLimit", CHARGING_LIMIT)
    assert answer[0] == 3 and answer[2] == {}
    assert seen == [("CP-1", "EMS")]
    other = await harness.call(sink, link, "SignCertificate", {"csr": "x"})
    assert other[0] == 4 and other[2] == "NotSupported"


@pytest.mark.parametrize(("error", "code"), [
    (asyncpg.PostgresConnectionError("down"), ErrorCode.INTERNAL_ERROR.value),
    (PayloadError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "no", "chargingLimit"),
     ErrorCode.PROPERTY_CONSTRAINT_VIOLATION.value),
])
async def test_a_failing_handler_answers_a_callerror(
        harness: ChargePointHarness, error: Exception, code: str) -> None:
    async def limit(station_id: str, req: m.NotifyChargingLimitRequest) -> m.NotifyChargingLimitResponse:
        raise error

    harness.deps.handlers.handle(m.NotifyChargingLimitRequest, limit)
    link, sink = await booted(harness)
    answer = await harness.call(sink, link, "NotifyChargingLimit", CHARGING_LIMIT)
    assert answer[0] == 4 and answer[2] == code


async def test_watchers_see_answered_calls_only(harness: ChargePointHarness) -> None:
    boots: list[tuple[str, str]] = []
    harness.deps.handlers.watch(m.BootNotificationRequest,
                                lambda sid, req: boots.append((sid, req.reason.value)))
    link, sink = await booted(harness)
    assert boots == [("CP-1", "PowerUp")]
    await harness.call(sink, link, "Heartbeat", {})
    assert len(boots) == 1


def test_one_handler_per_request_type() -> None:
    handlers = StationHandlers()

    async def one(station_id: str, req: m.DataTransferRequest) -> m.DataTransferResponse:
        return m.DataTransferResponse(status=m.DataTransferStatusEnum.ACCEPTED)

    handlers.handle(m.DataTransferRequest, one)
    with pytest.raises(HandlerConflict):
        handlers.handle(m.DataTransferRequest, one)
    assert handlers.handled() == frozenset({"DataTransfer"})
