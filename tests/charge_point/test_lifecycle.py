"""Actor lifecycle: restarts keep the link and rebuild state, crashes stay local, reconnects."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from sigec_actors.charge_point.commands import send_command
from sigec_actors.charge_point.model import BootStatus
from sigec_actors.domain.events import OCPP_DEVICE_CONNECTED, OCPP_DEVICE_DISCONNECTED
from sigec_actors.domain.records import ConnectorStatus
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.runtime import ActorDead
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.conftest import BOOT, status

PATH = "/node-1/charge-points/"


async def booted(h: ChargePointHarness, station_id: str):
    await h.register(station_id)
    link, sink = await h.connect(station_id)
    await h.call(sink, link, "BootNotification", BOOT)
    await h.call(sink, link, "StatusNotification", status(1, 1, "Occupied"))
    return link, sink


def actor_state(h: ChargePointHarness, station_id: str):
    actor = h.system.context(PATH + station_id).actor
    return actor.state  # type: ignore[union-attr]


async def test_operator_restart_keeps_link_and_rebuilds_state(
        harness: ChargePointHarness) -> None:
    link, sink = await booted(harness, "CP-1")
    connected = harness.fakes.outbox.subjects().count(OCPP_DEVICE_CONNECTED)
    await harness.system.restart(PATH + "CP-1", by="test")
    await harness.settle()
    state = actor_state(harness, "CP-1")
    assert state.boot is BootStatus.ACCEPTED  # from storage: the station need not boot again
    assert state.connectors == {(1, 1): ConnectorStatus.OCCUPIED}
    assert state.session == link.session
    assert (await harness.call(sink, link, "Heartbeat", {}))[0] == 3  # same link, no reboot
    assert link.closed is None
    subjects = harness.fakes.outbox.subjects()
    assert subjects.count(OCPP_DEVICE_CONNECTED) == connected  # no spurious connect...
    assert OCPP_DEVICE_DISCONNECTED not in subjects  # ...nor disconnect
    station = await harness.fakes.stations.get("CP-1")
    assert station is not None and station.online


class GatedAuthorizer:
    """Authorizer that blocks until `gate` is set (to crash an actor mid-call)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def authorize(self, station_id: str, id_token: m.IdToken) -> m.IdTokenInfo:
        await self.gate.wait()
        return m.IdTokenInfo(status=m.AuthorizationStatusEnum.ACCEPTED)


async def spin(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_crash_restarts_one_station_only() -> None:
    """A killed (abnormal exit) actor restarts alone; the call it lost gets InternalError."""
    async with ChargePointHarness(authorizer=GatedAuthorizer()) as h:
        link_a, sink_a = await booted(h, "CP-A")
        link_b, sink_b = await booted(h, "CP-B")
        ctx = h.system.context(PATH + "CP-A")
        before = ctx.incarnation
        token = {"idToken": {"idToken": "T", "type": "ISO14443"}}
        await sink_a.on_frame(msgspec.json.encode([2, "x1", "Authorize", token]))
        await spin()
        ctx.kill()
        await h.settle()
        assert ctx.incarnation == before + 1
        [lost] = link_a.replies("x1")  # not left hanging: the station retries at once
        assert lost[2] == "InternalError"
        assert (await h.call(sink_a, link_a, "Heartbeat", {}))[0] == 3
        assert (await h.call(sink_b, link_b, "Heartbeat", {}))[0] == 3
        assert h.system.context(PATH + "CP-B").restarts == 0


class BuggyAuthorizer:
    """An authorizer with a bug (not a storage failure)."""

    async def authorize(self, station_id: str, id_token: m.IdToken) -> m.IdTokenInfo:
        raise KeyError("a bug, not an outage")


async def test_a_bug_crashes_the_actor_and_the_call_still_gets_internal_error() -> None:
    """Only storage failures are caught in the actor; a bug crashes it (let it crash), the
    supervisor restarts it, and the station's CALL is answered InternalError on the way."""
    async with ChargePointHarness(authorizer=BuggyAuthorizer()) as h:
        link, sink = await booted(h, "CP-BUG")
        ctx = h.system.context(PATH + "CP-BUG")
        before = ctx.incarnation
        token = {"idToken": {"idToken": "T", "type": "ISO14443"}}
        await sink.on_frame(msgspec.json.encode([2, "b1", "Authorize", token]))
        await h.settle()
        assert ctx.incarnation == before + 1
        assert ctx.last_error is not None and "KeyError" in ctx.last_error
        [lost] = link.replies("b1")
        assert lost[2] == "InternalError"
        assert (await h.call(sink, link, "Heartbeat", {}))[0] == 3


async def test_crash_fails_pending_commands_with_actor_dead(harness: ChargePointHarness) -> None:
    link, sink = await booted(harness, "CP-1")
    assert harness.sessions is not None
    task = asyncio.ensure_future(send_command(harness.sessions, "CP-1", m.ClearCacheRequest()))
    await harness.settle()
    harness.system.context(PATH + "CP-1").kill()
    await harness.settle()
    with pytest.raises(ActorDead):
        await task
    assert (await harness.call(sink, link, "Heartbeat", {}))[0] == 3


async def test_disconnect_marks_offline_and_reconnect_starts_fresh(
        harness: ChargePointHarness) -> None:
    _link, sink = await booted(harness, "CP-1")
    await sink.on_close(1001, "going away")
    await harness.settle()
    assert harness.sessions is not None and harness.sessions.ref("CP-1") is None
    assert PATH + "CP-1" not in harness.system.registry
    station = await harness.fakes.stations.get("CP-1")
    assert station is not None and not station.online
    assert harness.fakes.outbox.subjects()[-1] == OCPP_DEVICE_DISCONNECTED
    link2, sink2 = await harness.connect("CP-1")
    assert (await harness.call(sink2, link2, "Heartbeat", {}))[0] == 3  # accepted from storage
    assert harness.fakes.outbox.subjects()[-1] == OCPP_DEVICE_CONNECTED
    assert (await harness.fakes.stations.get("CP-1")).online  # type: ignore[union-attr]


async def test_quick_reconnect_races_do_not_lose_the_station(
        harness: ChargePointHarness) -> None:
    _link, sink = await booted(harness, "CP-1")
    assert harness.sessions is not None
    from sigec_actors.testing.ocpp import FakeLink

    new_link = FakeLink("CP-1", 50)
    close = asyncio.ensure_future(sink.on_close(1006, "dropped"))
    attach = asyncio.ensure_future(harness.sessions.attach(new_link))
    await asyncio.gather(close, attach)
    await harness.settle()
    new_sink = attach.result()
    assert harness.sessions.ref("CP-1") is not None
    assert (await harness.call(new_sink, new_link, "Heartbeat", {}))[0] == 3
    assert (await harness.fakes.stations.get("CP-1")).online  # type: ignore[union-attr]
