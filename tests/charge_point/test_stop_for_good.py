"""Actors stopped for good close their station's link; a restarted node tree is followed."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from sigec_actors.charge_point.sessions import SERVICE_RESTART
from sigec_actors.domain.events import OCPP_DEVICE_DISCONNECTED
from sigec_actors.ocpp.link import SessionsUnavailable
from sigec_actors.testing.ocpp import ChargePointHarness, FakeLink
from tests.charge_point.test_lifecycle import PATH, GatedAuthorizer, booted, spin


async def online(h: ChargePointHarness, station_id: str) -> bool:
    station = await h.fakes.stations.get(station_id)
    assert station is not None
    return station.online


async def test_operator_stop_closes_the_link_and_marks_the_station_offline(
        harness: ChargePointHarness) -> None:
    link, sink = await booted(harness, "CP-1")
    other_link, other_sink = await booted(harness, "CP-2")
    await harness.system.stop(PATH + "CP-1", by="test")
    await harness.settle()
    assert link.closed is not None and link.closed[0] == SERVICE_RESTART
    assert not await online(harness, "CP-1")
    assert harness.fakes.outbox.subjects()[-1] == OCPP_DEVICE_DISCONNECTED
    await sink.on_close(*link.closed)  # what the gateway reports once the socket is closed
    await harness.settle()
    assert harness.sessions is not None and harness.sessions.connected() == ["CP-2"]

    again, sink2 = await harness.connect("CP-1")  # the station reconnects: a fresh actor
    assert (await harness.call(sink2, again, "Heartbeat", {}))[0] == 3
    assert await online(harness, "CP-1")
    assert (await harness.call(other_sink, other_link, "Heartbeat", {}))[0] == 3
    assert other_link.closed is None


async def test_stopped_supervisor_closes_every_link_and_refuses_new_ones(
        harness: ChargePointHarness) -> None:
    links = [(await booted(harness, sid))[0] for sid in ("CP-1", "CP-2")]
    sessions = harness.sessions
    assert sessions is not None and sessions.accepting()
    await harness.system.stop("/node-1/charge-points", by="test")
    await harness.settle()
    assert [link.closed is not None and link.closed[0] for link in links] == [SERVICE_RESTART] * 2
    assert [await online(harness, sid) for sid in ("CP-1", "CP-2")] == [False, False]
    assert not sessions.accepting()
    with pytest.raises(SessionsUnavailable) as refused:
        await sessions.attach(FakeLink("CP-3", 90))
    assert refused.value.station_id == "CP-3"

    await harness.system.restart("/node-1", by="test")  # brings it back
    await harness.settle()
    assert sessions.accepting()
    link, sink = await booted(harness, "CP-3")
    assert (await harness.call(sink, link, "Heartbeat", {}))[0] == 3


async def test_a_restarted_node_tree_is_followed(harness: ChargePointHarness) -> None:
    old, _ = await booted(harness, "CP-1")
    await harness.system.restart("/node-1", by="test")
    await harness.settle()
    assert old.closed is not None and old.closed[0] == SERVICE_RESTART  # its actor is gone
    assert not await online(harness, "CP-1")
    for link, sink in (await harness.connect("CP-1"), await booted(harness, "CP-2")):
        assert (await harness.call(sink, link, "Heartbeat", {}))[0] == 3
    assert await online(harness, "CP-1") and await online(harness, "CP-2")


async def test_a_killed_actor_that_is_not_restarted_has_its_link_closed() -> None:
    """Stopped for good but killed after its shutdown timeout (on_stop never ran): the next
    frame finds no actor and no restart coming, and the link is closed instead of answering
    InternalError for ever."""
    async with ChargePointHarness(authorizer=GatedAuthorizer()) as h:
        link, sink = await booted(h, "CP-A")
        token = {"idToken": {"idToken": "T", "type": "ISO14443"}}
        await sink.on_frame(msgspec.json.encode([2, "x1", "Authorize", token]))
        await spin()
        stop = asyncio.ensure_future(h.system.stop(PATH + "CP-A", by="test"))
        await spin()
        h.clock.advance(10.0)  # past the shutdown timeout: killed inside receive
        await stop
        assert link.closed is None
        await sink.on_frame(msgspec.json.encode([2, "h1", "Heartbeat", {}]))
        await h.settle()
        assert link.replies("h1")[0][2] == "InternalError"
        assert link.closed is not None and link.closed[0] == SERVICE_RESTART
