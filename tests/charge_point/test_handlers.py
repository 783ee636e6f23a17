"""Feature packages answer station messages through StationHandlers, not the actor."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec
import pytest

from sigec_actors.charge_point.handlers import HandlerConflict, StationHandlers
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.test_inbound import booted, spin

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


@pytest.mark.parametrize(("time_limit_s", "answered"), [(None, "InternalError"), (30.0, "ok")])
async def test_a_handler_may_have_its_own_time_limit(
        time_limit_s: float | None, answered: str) -> None:
    """A handler registered with a time limit is waited for past the node's storage deadline
    (a Get15118EVCertificate waits on a provider); without one it is cut at that deadline."""
    gate = asyncio.Event()

    async def certificate(station_id: str, req: m.Get15118EVCertificateRequest
                          ) -> m.Get15118EVCertificateResponse:
        await gate.wait()
        return m.Get15118EVCertificateResponse(
            status=m.Iso15118EVCertificateStatusEnum.ACCEPTED, exi_response="AA==")

    async with ChargePointHarness(persist_timeout_s=2.0) as h:
        h.deps.handlers.handle(m.Get15118EVCertificateRequest, certificate,
                               time_limit_s=time_limit_s)
        link, sink = await booted(h)
        await sink.on_frame(msgspec.json.encode([2, "e1", "Get15118EVCertificate", {
            "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef", "action": "Install",
            "exiRequest": "AA=="}]))
        await spin()
        h.clock.advance(2.5)  # past the node's 2 s storage deadline
        await spin()
        gate.set()
        await h.settle()
        [answer] = link.replies("e1")
        if answered == "ok":
            assert answer[0] == 3 and answer[2]["status"] == "Accepted"
        else:
            assert answer[0] == 4 and answer[2] == answered
