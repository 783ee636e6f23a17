"""The blocks on a ChargePoint actor: station messages reach their handlers; station answers
with unknown extra properties do not fail a command the station accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from structlog.testing import capture_logs

from sigec_actors.charge_point.commands import InvalidResponse, send_command
from sigec_actors.ocpp.call_budget import BudgetSpec
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp.lenient import decode_response_lenient
from sigec_actors.ocpp_blocks.wiring import OcppBlocks
from sigec_actors.testing.ocpp import ChargePointHarness
from sigec_actors.testing.ocpp_blocks import InMemoryBlocks
from tests.charge_point.conftest import BOOT, T0

METER = {"evseId": 0, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": 42.0}]}]}


@pytest.fixture
async def harness() -> AsyncIterator[ChargePointHarness]:
    async with ChargePointHarness() as h:
        yield h


async def booted(h: ChargePointHarness) -> tuple[Any, Any]:
    await h.register("CP-1")
    link, sink = await h.connect("CP-1")
    assert (await h.call(sink, link, "BootNotification", BOOT))[2]["status"] == "Accepted"
    return link, sink


async def test_station_messages_reach_the_blocks(harness: ChargePointHarness) -> None:
    store = InMemoryBlocks()
    blocks = OcppBlocks(store)
    blocks.register(harness.deps.handlers)

    async def vendor(station_id: str, req: m.DataTransferRequest) -> m.DataTransferResponse:
        return m.DataTransferResponse(status=m.DataTransferStatusEnum.ACCEPTED, data=req.data)

    blocks.data_transfers.register("org.sigec.test", vendor)
    link, sink = await booted(harness)
    assert await harness.call(sink, link, "MeterValues", METER) == [3, "m-2", {}]
    [sample] = store.meter["CP-1"]
    assert (sample.evse_id, sample.value) == (0, 42.0)
    negative = await harness.call(sink, link, "MeterValues", {**METER, "evseId": -1})
    assert negative[:3] == [4, "m-3", "PropertyConstraintViolation"]  # refused, not retried
    assert len(store.meter["CP-1"]) == 1
    known = await harness.call(sink, link, "DataTransfer",
                               {"vendorId": "org.sigec.test", "data": {"a": 1}})
    assert known[2] == {"status": "Accepted", "data": {"a": 1}}
    unknown = await harness.call(sink, link, "DataTransfer", {"vendorId": "com.acme"})
    assert unknown[2] == {"status": "UnknownVendorId"}
    report = {"requestId": 5, "messageInfo": [{"id": 9, "priority": "AlwaysFront",
                                               "message": {"format": "UTF8", "content": "hi"}}]}
    assert (await harness.call(sink, link, "NotifyDisplayMessages", report))[0] == 3
    assert [d.id for d in store.display["CP-1"].values()] == [9]


async def test_without_the_blocks_meter_values_and_data_transfer_keep_their_answers(
        harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    assert (await harness.call(sink, link, "MeterValues", METER))[0] == 3
    unknown = await harness.call(sink, link, "DataTransfer", {"vendorId": "com.acme"})
    assert unknown[2] == {"status": "UnknownVendorId"}


async def command(h: ChargePointHarness, sink: Any, link: Any, answer: dict[str, Any]) -> Any:
    assert h.sessions is not None
    task = asyncio.ensure_future(send_command(h.sessions, "CP-1", m.ClearCacheRequest()))
    await h.settle()
    [call] = link.calls()
    await sink.on_frame(msgspec.json.encode([3, call[1], answer]))
    await h.settle()
    return await task


async def test_unknown_extra_properties_in_an_answer_are_dropped(
        harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    answer = await command(harness, sink, link, {"status": "Accepted", "vendorExtra": {"x": 1},
                                                 "statusInfo": {"reasonCode": "ok", "y": 2}})
    assert answer == m.ClearCacheResponse(status=m.ClearCacheStatusEnum.ACCEPTED,
                                          status_info=m.StatusInfo(reason_code="ok"))


async def test_other_violations_still_fail_the_command(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness)
    with pytest.raises(InvalidResponse):
        await command(harness, sink, link, {"status": "Maybe", "extra": 1})


def test_lenient_reading_names_what_it_dropped() -> None:
    spec = m.ACTIONS["ClearCache"]
    answer, dropped = decode_response_lenient(spec, b'{"status":"Accepted","a":1}')
    assert answer == m.ClearCacheResponse(status=m.ClearCacheStatusEnum.ACCEPTED)
    assert dropped == ("$.a",)
    strict, none = decode_response_lenient(spec, b'{"status":"Accepted"}')
    assert none == () and isinstance(strict, m.ClearCacheResponse)


async def test_the_answer_to_our_own_call_is_not_dropped_by_the_budget() -> None:
    """S8 spends answers from the station's budget too; the one answering the CSMS CALL in
    flight is exempt (the CSMS asked for it), else the command failed though it was answered."""
    async with ChargePointHarness(budget=BudgetSpec(rate_per_s=20, burst=2)) as h:
        link, sink = await booted(h)
        assert (await h.call(sink, link, "Heartbeat", {}))[0] == 3  # the bucket is empty now
        assert (await h.call(sink, link, "Heartbeat", {}))[2] == "GenericError"
        assert h.sessions is not None
        task = asyncio.ensure_future(send_command(h.sessions, "CP-1", m.ClearCacheRequest()))
        await h.settle()
        [call] = link.calls()
        await sink.on_frame(msgspec.json.encode([3, call[1], {"status": "Accepted"}]))
        await h.settle()
        assert task.done(), "the answer was dropped: the command would time out"
        assert task.result() == m.ClearCacheResponse(status=m.ClearCacheStatusEnum.ACCEPTED)
        with capture_logs() as logs:  # a second answer to it is charged again: dropped
            await sink.on_frame(msgspec.json.encode([3, call[1], {"status": "Accepted"}]))
        assert [e["event"] for e in logs] == ["ocpp_answer_rate_limited"]
