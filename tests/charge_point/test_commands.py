"""The CSMS -> station command channel: one CALL in flight, queue, timeouts, errors (R7-R9)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from sigec_actors.charge_point.commands import (
    CommandRejectedByState,
    CommandTimeout,
    InvalidResponse,
    StationBusy,
    StationCallError,
    StationOffline,
    send_command,
)
from sigec_actors.charge_point.model import Policy
from sigec_actors.domain.events import (
    OCPP_COMMAND_RESPONSE,
    OCPP_COMMAND_SENT,
    OCPP_COMMAND_TIMEOUT,
)
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.runtime import ActorDead
from sigec_actors.testing.ocpp import ChargePointHarness, FakeLink
from tests.charge_point.conftest import BOOT, status

RESET = m.ResetRequest(type=m.ResetEnum.IMMEDIATE)


async def ready(h: ChargePointHarness, station_id: str = "CP-1", *, boot: bool = True):
    await h.register(station_id)
    link, sink = await h.connect(station_id)
    if boot:
        await h.call(sink, link, "BootNotification", BOOT)
    return link, sink


def start(h: ChargePointHarness, request: msgspec.Struct, station_id: str = "CP-1",
          timeout_s: float | None = None) -> asyncio.Task[Any]:
    assert h.sessions is not None
    return asyncio.ensure_future(send_command(h.sessions, station_id, request, timeout_s))


async def answer(h: ChargePointHarness, sink: Any, call: list[Any], payload: dict) -> None:
    await sink.on_frame(msgspec.json.encode([3, call[1], payload]))
    await h.settle()


async def test_command_round_trip_and_events(harness: ChargePointHarness) -> None:
    link, sink = await ready(harness)
    task = start(harness, RESET)
    await harness.settle()
    [call] = link.calls()
    assert call[2:] == ["Reset", {"type": "Immediate"}]
    await answer(harness, sink, call, {"status": "Accepted"})
    response = await task
    assert response == m.ResetResponse(status=m.ResetStatusEnum.ACCEPTED)
    subjects = [msg.subject for msg in harness.fakes.bus.published]
    assert subjects[-2:] == [OCPP_COMMAND_SENT, OCPP_COMMAND_RESPONSE]
    last = msgspec.json.decode(harness.fakes.bus.published[-1].data)
    assert last["status"] == "Accepted" and last["action"] == "Reset"


async def test_ten_concurrent_commands_one_in_flight(harness: ChargePointHarness) -> None:
    """R7: the station never sees a second CALL before it answered the first."""
    link, sink = await ready(harness)
    tasks = [start(harness, m.TriggerMessageRequest(
        requested_message=m.MessageTriggerEnum.HEARTBEAT)) for _ in range(10)]
    await harness.settle()
    answered = 0
    while answered < 10:
        calls = link.calls()
        assert len(calls) == answered + 1  # exactly one unanswered CALL at any time
        await answer(harness, sink, calls[-1], {"status": "Accepted"})
        answered += 1
    results = await asyncio.gather(*tasks)
    assert all(r.status == m.TriggerMessageStatusEnum.ACCEPTED for r in results)
    assert len({c[1] for c in link.calls()}) == 10  # fresh message ids


async def test_inbound_call_answered_while_outbound_waits(harness: ChargePointHarness) -> None:
    """R8: the station's CALLs are answered while the CSMS's own CALL is unanswered."""
    link, sink = await ready(harness)
    task = start(harness, RESET)
    await harness.settle()
    assert (await harness.call(sink, link, "Heartbeat", {}))[0] == 3
    assert (await harness.call(sink, link, "StatusNotification", status(1, 1, "Available")))[0] == 3
    assert not task.done()
    await answer(harness, sink, link.calls()[0], {"status": "Accepted"})
    assert (await task).status == m.ResetStatusEnum.ACCEPTED


async def test_timeout_frees_slot_and_late_answer_is_dropped(harness: ChargePointHarness) -> None:
    link, sink = await ready(harness)
    first = start(harness, RESET, timeout_s=10)
    second = start(harness, m.ClearCacheRequest())
    await harness.settle()
    [late_call] = link.calls()
    harness.clock.advance(10)
    await harness.settle()
    with pytest.raises(CommandTimeout) as info:
        await first
    assert info.value.timeout_s == 10 and info.value.action == "Reset"
    assert [c[2] for c in link.calls()] == ["Reset", "ClearCache"]  # slot freed
    await answer(harness, sink, late_call, {"status": "Accepted"})  # late: dropped, not matched
    assert not second.done()
    await answer(harness, sink, link.calls()[1], {"status": "Accepted"})
    assert (await second).status == m.ClearCacheStatusEnum.ACCEPTED
    assert OCPP_COMMAND_TIMEOUT in [msg.subject for msg in harness.fakes.bus.published]


async def test_default_timeout_is_policy_call_timeout() -> None:
    async with ChargePointHarness(policy=Policy(call_timeout_s=30)) as h:
        await ready(h)
        task = start(h, RESET)
        await h.settle()
        h.clock.advance(29.9)
        await h.settle()
        assert not task.done()
        h.clock.advance(0.1)
        await h.settle()
        with pytest.raises(CommandTimeout):
            await task


async def test_queue_overflow_is_busy() -> None:
    async with ChargePointHarness(policy=Policy(command_queue_size=2)) as h:
        link, _ = await ready(h)
        tasks = [start(h, RESET) for _ in range(4)]
        await h.settle()
        with pytest.raises(StationBusy) as info:
            await tasks[3]
        assert info.value.queue_size == 2
        assert [t.done() for t in tasks[:3]] == [False, False, False]
        assert len(link.calls()) == 1


async def test_station_call_error_and_invalid_response(harness: ChargePointHarness) -> None:
    link, sink = await ready(harness)
    task = start(harness, RESET)
    await harness.settle()
    call = link.calls()[0]
    await sink.on_frame(msgspec.json.encode([4, call[1], "NotSupported", "no reset", {"a": 1}]))
    await harness.settle()
    with pytest.raises(StationCallError) as info:
        await task
    assert (info.value.code, info.value.description, info.value.details) == (
        "NotSupported", "no reset", {"a": 1})
    task = start(harness, RESET)
    await harness.settle()
    await answer(harness, sink, link.calls()[1], {"status": "Maybe"})
    with pytest.raises(InvalidResponse):
        await task


async def test_offline_and_link_close_fail_commands(harness: ChargePointHarness) -> None:
    with pytest.raises(StationOffline):
        await send_command(harness.sessions, "CP-NONE", RESET)  # type: ignore[arg-type]
    _link, sink = await ready(harness)
    in_flight, queued = start(harness, RESET), start(harness, m.ClearCacheRequest())
    await harness.settle()
    await sink.on_close(1006, "gone")
    await harness.settle()
    for task in (in_flight, queued):
        with pytest.raises((StationOffline, ActorDead)):
            await task
    station = await harness.fakes.stations.get("CP-1")
    assert station is not None and not station.online


async def test_pending_station_only_gets_pending_commands() -> None:
    async with ChargePointHarness(policy=Policy(auto_register=True)) as h:
        link, sink = await h.connect("CP-NEW")
        with pytest.raises(CommandRejectedByState):  # not booted yet: nothing may be sent
            await send_command(h.sessions, "CP-NEW", m.GetBaseReportRequest(  # type: ignore[arg-type]
                request_id=1, report_base=m.ReportBaseEnum.FULL_INVENTORY))
        await h.call(sink, link, "BootNotification", BOOT)
        with pytest.raises(CommandRejectedByState) as info:
            await send_command(h.sessions, "CP-NEW", RESET)  # type: ignore[arg-type]
        assert info.value.boot_status == "Pending"
        task = start(h, m.GetBaseReportRequest(request_id=1,
                                               report_base=m.ReportBaseEnum.FULL_INVENTORY),
                     station_id="CP-NEW")
        await h.settle()
        await answer(h, sink, link.calls()[0], {"status": "Accepted"})
        assert (await task).status == m.GenericDeviceModelStatusEnum.ACCEPTED


async def test_not_a_command_is_a_type_error(harness: ChargePointHarness) -> None:
    await ready(harness)
    with pytest.raises(TypeError):
        await send_command(harness.sessions, "CP-1", m.HeartbeatRequest())  # type: ignore[arg-type]


async def test_replaced_link_fails_in_flight_and_sends_queue_on_new(
        harness: ChargePointHarness) -> None:
    old_link, old_sink = await ready(harness)
    in_flight, queued = start(harness, RESET), start(harness, m.ClearCacheRequest())
    await harness.settle()
    assert harness.sessions is not None
    new_link = FakeLink("CP-1", 99)
    new_sink = await harness.sessions.attach(new_link)
    await harness.settle()
    with pytest.raises(StationOffline):
        await in_flight
    [call] = new_link.calls()
    assert call[2] == "ClearCache"
    await answer(harness, new_sink, call, {"status": "Accepted"})
    assert (await queued).status == m.ClearCacheStatusEnum.ACCEPTED
    await old_link.close()
    await old_sink.on_close(1000, "")  # the old socket's late close does not disturb the new
    await harness.settle()
    assert harness.sessions.ref("CP-1") is not None
    assert (await harness.call(new_sink, new_link, "Heartbeat", {}))[0] == 3

