"""Live sessions: frame limits, dead peers, replacement, hijack attempts, sink bugs, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.headers import build_authorization_basic

from sigec_actors.ocpp.link import LinkClosed, StationLink
from tests.ocpp.gateway.conftest import (
    OCPP,
    PASSWORD,
    Harness,
    MakeGateway,
    RecordingSessions,
    raw_upgrade,
    wait_for,
)


def auth(station: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": build_authorization_basic(station, password)}


async def open_station(h: Harness, station: str, password: str = PASSWORD) -> ClientConnection:
    return await connect(h.url(station), subprotocols=[OCPP],
                         additional_headers=auth(station, password))


async def test_frame_over_the_limit_closes_1009(make_gateway: MakeGateway) -> None:
    h = await make_gateway(max_frame_bytes=1024)
    await h.add("CP-1", 1)
    ws = await open_station(h, "CP-1")
    await ws.send("x" * 1024)
    assert await ws.recv() == "x" * 1024
    await ws.send("y" * 1025)
    with pytest.raises(ConnectionClosed) as info:
        await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1009
    session = h.sessions.last("CP-1")
    await asyncio.wait_for(session.closed.wait(), 5)
    assert [code for code, _ in session.closes] == [1009]
    assert session.frames == ["x" * 1024]


async def test_binary_frames_reach_the_sink_as_bytes(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    h.sessions.echo = False
    await h.add("CP-0", 0)
    async with connect(h.url("CP-0"), subprotocols=[OCPP]) as ws:
        await ws.send(b"\x00\x01")
        await wait_for(lambda: bool(h.sessions.sessions) and bool(h.sessions.last("CP-0").frames))
    assert h.sessions.last("CP-0").frames == [b"\x00\x01"]


async def test_dead_peer_is_closed_after_ping_timeout(make_gateway: MakeGateway) -> None:
    """R13: a peer that completed the handshake and then never reads nor answers pings."""
    h = await make_gateway(ping_interval_s=0.2, ping_timeout_s=0.2)
    await h.add("CP-0", 0)
    started = time.monotonic()
    raw = await raw_upgrade(h.port, "/ocpp/CP-0")  # never reads again: no pong
    assert raw.status == 101
    await wait_for(lambda: h.gateway.is_connected("CP-0"))
    session = h.sessions.last("CP-0")
    await asyncio.wait_for(session.closed.wait(), 3)
    elapsed = time.monotonic() - started
    # ping_interval + ping_timeout + close_timeout (= min(ping_timeout, 5)) plus scheduling slack.
    assert elapsed < 0.2 + 0.2 + 0.2 + 0.8
    assert session.closes == [(1011, "keepalive ping timeout")]
    assert not h.gateway.is_connected("CP-0")
    assert not session.link.is_open
    raw.writer.close()


async def test_live_peer_survives_many_ping_intervals(make_gateway: MakeGateway) -> None:
    h = await make_gateway(ping_interval_s=0.05, ping_timeout_s=0.2)
    await h.add("CP-0", 0)
    async with connect(h.url("CP-0"), subprotocols=[OCPP], ping_interval=None) as ws:
        await asyncio.sleep(0.6)  # the client library answers the server's pings
        await ws.send("still here")
        assert await ws.recv() == "still here"
    assert len(h.sessions.for_station("CP-0")) == 1


async def test_200_rapid_replacements_keep_exactly_one_live_session(
        make_gateway: MakeGateway) -> None:
    """R13 / S4: each new authenticated connection replaces the previous one at once, and no
    late cleanup of an old socket removes or closes its successor."""
    h = await make_gateway()
    await h.add("CP-1", 1)
    violations: list[int] = []

    async def watch() -> None:
        while True:
            if h.gateway.live_count > 1:
                violations.append(h.gateway.live_count)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    clients = []
    for i in range(1, 201):
        clients.append(await open_station(h, "CP-1"))
        attached = functools.partial(lambda n: len(h.sessions.for_station("CP-1")) == n, i)
        await wait_for(attached)
        assert h.gateway.live_count == 1
        assert h.gateway.is_connected("CP-1")
    # Every replaced client was closed normally by the server.
    for old in clients[:-1]:
        await asyncio.wait_for(old.wait_closed(), 5)
        assert old.close_code == 1000
    sessions = h.sessions.for_station("CP-1")
    await asyncio.wait_for(asyncio.gather(*(s.closed.wait() for s in sessions[:-1])), 10)
    watcher.cancel()
    assert violations == []
    numbers = [s.link.session for s in sessions]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 200
    for s in sessions[:-1]:
        assert s.closes == [(1000, "replaced by a new connection")]
        with pytest.raises(LinkClosed):
            await s.link.send(b"[]")
    # The newest session is untouched by all that cleanup and still works.
    newest, client = sessions[-1], clients[-1]
    assert newest.closes == []
    assert newest.link.is_open
    assert h.gateway.live_count == 1
    await client.send("hello")
    assert await client.recv() == "hello"
    await client.close()
    await asyncio.wait_for(newest.closed.wait(), 5)
    assert h.gateway.live_count == 0
    assert h.passwords.verifications == 1  # the verified cache carried the other 199


async def test_concurrent_connections_for_one_identity_leave_the_newest_live(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-1", 1)
    clients = await asyncio.gather(*(open_station(h, "CP-1") for _ in range(50)))
    await wait_for(lambda: len(h.sessions.for_station("CP-1")) == 50)
    assert h.passwords.verifications == 1  # the 50 handshakes shared one argon2 run
    sessions = h.sessions.for_station("CP-1")
    newest = max(sessions, key=lambda s: s.link.session)
    others = [s for s in sessions if s is not newest]
    await asyncio.wait_for(asyncio.gather(*(s.closed.wait() for s in others)), 10)
    assert h.gateway.live_count == 1
    assert newest.link.is_open
    assert newest.closes == []
    assert all(len(s.closes) == 1 for s in others)
    open_clients = [c for c in clients if c.close_code is None]
    assert len(open_clients) == 1
    await open_clients[0].send("survivor")
    assert await open_clients[0].recv() == "survivor"
    for client in clients:
        await client.close()


async def test_replaced_socket_frames_are_not_delivered(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    first = await connect(h.url("CP-0"), subprotocols=[OCPP])
    await wait_for(lambda: len(h.sessions.for_station("CP-0")) == 1)
    second = await connect(h.url("CP-0"), subprotocols=[OCPP])
    await wait_for(lambda: len(h.sessions.for_station("CP-0")) == 2)
    old = h.sessions.for_station("CP-0")[0]
    assert not old.link.is_open
    with contextlib.suppress(ConnectionClosed):  # may already be closed: either way, dropped
        await first.send("late frame from the old socket")
    await asyncio.wait_for(first.wait_closed(), 5)
    assert first.close_code == 1000
    await second.send("new")
    assert await second.recv() == "new"
    assert "late frame from the old socket" not in old.frames
    await second.close()


@pytest.mark.parametrize("password", [None, "wrong-password-0123456789"])
async def test_hijack_attempt_leaves_the_live_session_untouched(
        make_gateway: MakeGateway, password: str | None) -> None:
    """S4 (SaiFlow): an unauthenticated connection for an online identity is refused."""
    h = await make_gateway()
    await h.add("CP-1", 1)
    live = await open_station(h, "CP-1")
    await wait_for(lambda: h.gateway.is_connected("CP-1"))
    headers = auth("CP-1", password) if password else {}
    with pytest.raises(InvalidStatus) as info:
        await connect(h.url("CP-1"), subprotocols=[OCPP], additional_headers=headers)
    assert info.value.response.status_code == 401
    assert len(h.sessions.for_station("CP-1")) == 1
    session = h.sessions.last("CP-1")
    assert session.link.is_open
    assert session.closes == []
    await live.send("still mine")
    assert await live.recv() == "still mine"
    await live.close()


async def test_sink_bug_closes_only_that_connection_with_1011(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-A", 0)
    await h.add("CP-B", 0)
    h.sessions.fail_on = "boom"
    async with connect(h.url("CP-A"), subprotocols=[OCPP]) as a, \
            connect(h.url("CP-B"), subprotocols=[OCPP]) as b:
        await a.send("boom")
        with pytest.raises(ConnectionClosed) as info:
            await a.recv()
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1011
        await b.send("fine")
        assert await b.recv() == "fine"
    session = h.sessions.last("CP-A")
    await asyncio.wait_for(session.closed.wait(), 5)
    assert session.closes == [(1011, "internal error")]
    # The gateway still accepts new sessions.
    async with connect(h.url("CP-A"), subprotocols=[OCPP]) as again:
        await again.send("ok")
        assert await again.recv() == "ok"


class FailingAttach(RecordingSessions):
    async def attach(self, link: StationLink) -> Any:
        if link.station_id == "CP-BAD":
            raise RuntimeError("attach bug on purpose")
        return await super().attach(link)


async def test_attach_bug_closes_with_1011_and_frees_the_identity(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway(sessions=FailingAttach())
    await h.add("CP-BAD", 0)
    await h.add("CP-0", 0)
    async with connect(h.url("CP-BAD"), subprotocols=[OCPP]) as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1011
    await wait_for(lambda: not h.gateway.is_connected("CP-BAD"))
    assert h.sessions.sessions == []
    async with connect(h.url("CP-0"), subprotocols=[OCPP]) as ws:
        await ws.send("alive")
        assert await ws.recv() == "alive"


async def test_link_close_is_idempotent_and_send_after_close_raises(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    async with connect(h.url("CP-0"), subprotocols=[OCPP]) as ws:
        await wait_for(lambda: h.gateway.is_connected("CP-0"))
        link = h.sessions.last("CP-0").link
        await link.close(1000, "bye")
        await link.close(1000, "again")
        with pytest.raises(LinkClosed):
            await link.send(b"[]")
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1000
    session = h.sessions.last("CP-0")
    await asyncio.wait_for(session.closed.wait(), 5)
    assert session.closes == [(1000, "bye")]


async def test_stop_closes_every_session_with_going_away(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    clients = []
    for i in range(5):
        await h.add(f"CP-{i}", 0)
        clients.append(await connect(h.url(f"CP-{i}"), subprotocols=[OCPP]))
    await wait_for(lambda: h.gateway.live_count == 5)
    await asyncio.wait_for(h.gateway.stop(), 10)
    assert h.gateway.live_count == 0
    for client in clients:
        await asyncio.wait_for(client.wait_closed(), 5)
        assert client.close_code == 1001
    assert all(s.closes == [(1001, "")] for s in h.sessions.sessions)
    with pytest.raises(ConnectionRefusedError):
        await connect(h.url("CP-0"), subprotocols=[OCPP], open_timeout=2)


async def test_stop_is_bounded_when_a_peer_never_answers_the_close(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway(shutdown_s=0.3)  # close_timeout stays min(ping_timeout 5, 5) = 5 s
    await h.add("CP-0", 0)
    raw = await raw_upgrade(h.port, "/ocpp/CP-0")  # never reads: no close frame comes back
    await wait_for(lambda: h.gateway.is_connected("CP-0"))
    started = time.monotonic()
    await h.gateway.stop()
    assert time.monotonic() - started < 2.0  # the shutdown bound, not the 5 s close timeout
    session = h.sessions.last("CP-0")
    assert len(session.closes) == 1
    raw.writer.close()


async def test_disconnect_closes_only_the_named_station(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-A", 0)
    await h.add("CP-B", 0)
    async with connect(h.url("CP-A"), subprotocols=[OCPP]) as a, \
            connect(h.url("CP-B"), subprotocols=[OCPP]) as b:
        await wait_for(lambda: h.gateway.live_count == 2)
        assert await h.gateway.disconnect("CP-A", 1000, "credentials changed")
        await asyncio.wait_for(a.wait_closed(), 5)
        assert (a.close_code, a.close_reason) == (1000, "credentials changed")
        assert not await h.gateway.disconnect("CP-A")
        await b.send("still")
        assert await b.recv() == "still"
