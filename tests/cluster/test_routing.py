"""Cross-node routing: two in-process "nodes" with fake local commanders on one bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import msgspec
import nats
import pytest

from sigec_actors.adapters.memory_bus import MemoryEventBus
from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.charge_point.errors import (
    CommandError,
    CommandRejectedByState,
    CommandTimeout,
    InvalidResponse,
    StationBusy,
    StationCallError,
    StationOffline,
)
from sigec_actors.cluster import wire
from sigec_actors.cluster.routing import StationRouter, command_subject, station_token
from sigec_actors.domain.records import Caller
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import EventBus
from sigec_actors.runtime import ActorDead

RESET = v201.ResetRequest(type=v201.ResetEnum.IMMEDIATE)
ALICE = Caller("user", "alice-id", "operator")


@dataclass
class FakeCommander:
    """A node's local command API: answers Accepted, or raises what `fail` says per station."""

    node: str
    fail: dict[str, Exception] = field(default_factory=dict)
    seen: list[tuple[str, str, float | None]] = field(default_factory=list)
    callers: list[tuple[Caller, str]] = field(default_factory=list)

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        self.seen.append((station_id, type(request).__name__, timeout_s))
        self.callers.append((caller, origin))
        if station_id in self.fail:
            raise self.fail[station_id]
        return v201.ResetResponse(status=v201.ResetStatusEnum.ACCEPTED)


@dataclass
class Pair:
    a: StationRouter
    b: StationRouter
    fake_a: FakeCommander
    fake_b: FakeCommander
    taken: list[tuple[str, str, str]]


def make_pair(bus_a: EventBus, bus_b: EventBus, prefix: str,
              flush_a: Callable[[], object] | None = None) -> Pair:
    taken: list[tuple[str, str, str]] = []
    fake_a, fake_b = FakeCommander("node-a"), FakeCommander("node-b")

    def hook(node: str) -> Callable[[str, str], asyncio.Future[None]]:
        async def on_takeover(station_id: str, by: str) -> None:
            taken.append((node, station_id, by))
        return on_takeover  # type: ignore[return-value]

    a = StationRouter(bus_a, "node-a", fake_a, prefix=prefix, default_timeout_s=2.0,
                      on_takeover=hook("node-a"))
    b = StationRouter(bus_b, "node-b", fake_b, prefix=prefix, default_timeout_s=2.0,
                      on_takeover=hook("node-b"))
    return Pair(a, b, fake_a, fake_b, taken)


@pytest.fixture
async def memory_pair() -> AsyncIterator[Pair]:
    bus = MemoryEventBus()
    pair = make_pair(bus, bus, "t")
    yield pair
    await pair.a.close()
    await pair.b.close()


@pytest.fixture
async def nats_pair(nats_url: str) -> AsyncIterator[Pair]:
    async for pair in _nats_pair(nats_url):
        yield pair


@pytest.fixture(params=["memory", "nats"])
async def any_pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """The same test on the in-memory bus and on real NATS (two connections)."""
    if request.param == "memory":
        bus = MemoryEventBus()
        pair = make_pair(bus, bus, "t")
        yield pair
        await pair.a.close()
        await pair.b.close()
        return
    async for pair in _nats_pair(request.getfixturevalue("nats_url")):
        yield pair


async def _nats_pair(nats_url: str) -> AsyncIterator[Pair]:
    nc_a, nc_b = await nats.connect(nats_url), await nats.connect(nats_url)
    pair = make_pair(NatsEventBus(nc_a), NatsEventBus(nc_b), f"t{uuid.uuid4().hex[:12]}")
    pair.a._flush = nc_a.flush
    pair.b._flush = nc_b.flush
    yield pair
    await pair.a.close()
    await pair.b.close()
    await nc_a.close()
    await nc_b.close()


def test_station_tokens_are_injective_and_subject_safe() -> None:
    assert station_token("CP-001_a") == "CP-001_a"
    odd = ["a.b", "a*", "a>", "a b", "~61", "ção"]
    tokens = {station_token(s) for s in odd}
    assert len(tokens) == len(odd)
    for token in tokens:
        assert not set(token) & set(".*> \t")
    assert command_subject("a.b", "sigec") == "sigec.cp.~612e62.cmd"


async def test_local_station_uses_local_commander(memory_pair: Pair) -> None:
    await memory_pair.a.attach("CP1")
    response = await memory_pair.a.commander.send("CP1", RESET, 5.0, caller=ALICE)
    assert response == v201.ResetResponse(status=v201.ResetStatusEnum.ACCEPTED)
    assert memory_pair.fake_a.seen == [("CP1", "ResetRequest", 5.0)]
    assert memory_pair.fake_b.seen == []


async def test_remote_station_is_reached_over_the_bus(any_pair: Pair) -> None:
    pair = any_pair
    await pair.b.attach("CP2")
    response = await pair.a.commander.send("CP2", RESET, 3.0, caller=ALICE)
    assert isinstance(response, v201.ResetResponse)
    assert response.status is v201.ResetStatusEnum.ACCEPTED
    assert pair.fake_b.seen == [("CP2", "ResetRequest", 3.0)]
    assert await pair.a.commander.locate("CP2") == "node-b"
    assert await pair.b.commander.locate("CP2") == "node-b"


async def test_unheld_station_is_offline_fast(any_pair: Pair) -> None:
    pair = any_pair
    with pytest.raises(StationOffline) as info:
        async with asyncio.timeout(1.0):
            await pair.a.commander.send("nobody", RESET, 10.0, caller=ALICE)
    assert info.value.action == "Reset"
    assert await pair.a.commander.locate("nobody") is None


ERRORS: list[CommandError] = [
    StationOffline("CP3", "Reset"),
    CommandTimeout("CP3", "Reset", 1.5),
    StationBusy("CP3", "Reset", 16),
    CommandRejectedByState("CP3", "Reset", "Pending"),
    StationCallError("CP3", "Reset", "NotSupported", "no", {"why": 1}),
    InvalidResponse("CP3", "Reset", "FormationViolation", "bad", None),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
async def test_remote_errors_come_back_typed(memory_pair: Pair, error: CommandError) -> None:
    memory_pair.fake_b.fail["CP3"] = error
    await memory_pair.b.attach("CP3")
    with pytest.raises(type(error)) as info:
        await memory_pair.a.commander.send("CP3", RESET, 2.0, caller=ALICE)
    got = info.value
    assert type(got) is type(error)
    assert str(got) == str(error)
    assert vars(got) == vars(error)


async def test_remote_actor_dead_is_offline_and_a_crash_is_reported(memory_pair: Pair) -> None:
    memory_pair.fake_b.fail["dead"] = ActorDead("/node/charge-points/dead")
    memory_pair.fake_b.fail["bug"] = ZeroDivisionError("oops")
    await memory_pair.b.attach("dead")
    await memory_pair.b.attach("bug")
    with pytest.raises(StationOffline):
        await memory_pair.a.commander.send("dead", RESET, 2.0, caller=ALICE)
    with pytest.raises(wire.RemoteCommandFailed, match="oops") as info:
        await memory_pair.a.commander.send("bug", RESET, 2.0, caller=ALICE)
    assert info.value.node == "node-b"


async def test_non_command_request_is_refused_before_sending(memory_pair: Pair) -> None:
    await memory_pair.b.attach("CP4")
    with pytest.raises(TypeError):
        await memory_pair.a.commander.send("CP4", v201.HeartbeatRequest(), 2.0, caller=ALICE)
    assert memory_pair.fake_b.seen == []


async def test_reconnect_elsewhere_takes_the_station_over(any_pair: Pair) -> None:
    pair = any_pair
    await pair.a.attach("CP5")
    await pair.b.attach("CP5")  # the station reconnected to node b
    for _ in range(100):
        if pair.taken:
            break
        await asyncio.sleep(0.01)
    assert not pair.a.holds("CP5")
    assert pair.taken == [("node-a", "CP5", "node-b")]
    await pair.a.commander.send("CP5", RESET, 2.0, caller=ALICE)
    assert [s for s, *_ in pair.fake_b.seen] == ["CP5"]
    assert pair.fake_a.seen == []


async def test_detach_and_close_release_stations(nats_pair: Pair) -> None:
    await nats_pair.b.attach("CP6")
    await nats_pair.b.attach("CP7")
    await nats_pair.b.detach("CP6")
    with pytest.raises(StationOffline):
        await nats_pair.a.commander.send("CP6", RESET, 2.0, caller=ALICE)
    await nats_pair.b.close()
    assert nats_pair.b.stations == []
    with pytest.raises(StationOffline):
        await nats_pair.a.commander.send("CP7", RESET, 2.0, caller=ALICE)


async def test_dead_node_connection_drops_its_stations(nats_url: str) -> None:
    """A node that dies (its NATS connection closes) stops answering for its stations."""
    nc_a, nc_b = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        pair = make_pair(NatsEventBus(nc_a), NatsEventBus(nc_b), f"d{uuid.uuid4().hex[:12]}")
        pair.b._flush = nc_b.flush
        await pair.b.attach("CP8")
        await pair.a.commander.send("CP8", RESET, 2.0, caller=ALICE)
        await nc_b.close()  # what the kernel does for a SIGKILLed node
        for _ in range(100):  # the server notices the closed socket within milliseconds
            if await pair.a.commander.locate("CP8", timeout_s=0.2) is None:
                break
        with pytest.raises(StationOffline):
            await pair.a.commander.send("CP8", RESET, 2.0, caller=ALICE)
    finally:
        await nc_a.close()


@dataclass
class FakeLink:
    station_id: str
    session: int


@dataclass
class FakeSink:
    closed: list[int] = field(default_factory=list)
    frames: list[str | bytes] = field(default_factory=list)

    async def on_frame(self, data: str | bytes) -> None:
        self.frames.append(data)

    async def on_close(self, code: int | None, reason: str) -> None:
        self.closed.append(code or 0)


@dataclass
class FakeSessions:
    sinks: list[FakeSink] = field(default_factory=list)

    async def attach(self, link: FakeLink) -> FakeSink:
        self.sinks.append(FakeSink())
        return self.sinks[-1]


async def test_routed_sessions_attach_and_detach_only_the_latest_link(
        memory_pair: Pair) -> None:
    from sigec_actors.cluster.sessions import RoutedSessions

    inner = FakeSessions()
    sessions = RoutedSessions(inner, memory_pair.b)  # type: ignore[arg-type]
    first = await sessions.attach(FakeLink("CP9", 1))  # type: ignore[arg-type]
    await first.on_frame("[2]")
    assert inner.sinks[0].frames == ["[2]"]
    assert memory_pair.b.holds("CP9")
    second = await sessions.attach(FakeLink("CP9", 2))  # type: ignore[arg-type]
    await first.on_close(1000, "replaced")  # a replaced link's late close
    assert memory_pair.b.holds("CP9")
    await memory_pair.a.commander.send("CP9", RESET, 2.0, caller=ALICE)
    await second.on_close(1006, "gone")
    assert not memory_pair.b.holds("CP9")
    assert [s.closed for s in inner.sinks] == [[1000], [1006]]
