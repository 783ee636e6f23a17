"""Test helpers for the OCPP side: an in-memory link, a charge point harness, a loopback gateway."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import msgspec
import websockets
from websockets.asyncio.server import Server, ServerConnection

from sigec_actors.adapters.memory_bus import MemoryEventBus
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.events import EventPublisher, LastSeenBatcher
from sigec_actors.charge_point.model import Policy
from sigec_actors.charge_point.ports import (
    Authorizer,
    ChargePointDeps,
    TransactionEventHandler,
    UnknownTokens,
)
from sigec_actors.charge_point.sessions import Session, StationSessions
from sigec_actors.charge_point.transactions import StoreTransactionEvents
from sigec_actors.domain.records import BootInfo, NewStation
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.call_budget import BudgetSpec
from sigec_actors.ocpp.generated.v201 import (
    AuthorizationStatusEnum,
    IdToken,
    IdTokenInfo,
)
from sigec_actors.ocpp.link import LinkClosed
from sigec_actors.ports import AuditLog, EventBus, StationRepository
from sigec_actors.runtime import ActorSystem, Clock
from sigec_actors.testing.alerts import InMemoryAlerts
from sigec_actors.testing.repos import InMemoryAuditLog, InMemoryOutbox, InMemoryStations
from sigec_actors.testing.repos_money import InMemoryTransactionEvents
from sigec_actors.testing.runtime import FakeClock, settle, shutdown


class FakeLink:
    """A StationLink in memory: frames the CSMS sends are kept in `sent`."""

    def __init__(self, station_id: str, session: int = 1, *, remote: str = "127.0.0.1:40000",
                 security_profile: int = 1) -> None:
        self.station_id = station_id
        self.session = session
        self.remote = remote
        self.security_profile = security_profile
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    @property
    def is_open(self) -> bool:
        return self.closed is None

    async def send(self, frame: bytes) -> None:
        if self.closed is not None:
            raise LinkClosed(self.station_id, self.session)
        self.sent.append(frame)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed is None:
            self.closed = (code, reason)

    def frames(self) -> list[list[Any]]:
        """Every frame sent so far, decoded."""
        return [msgspec.json.decode(f) for f in self.sent]

    def replies(self, message_id: str) -> list[list[Any]]:
        """CALLRESULT/CALLERROR frames answering `message_id`."""
        return [f for f in self.frames() if f[0] in (3, 4) and f[1] == message_id]

    def calls(self) -> list[list[Any]]:
        """CSMS CALLs sent on this link: `[2, id, action, payload]`."""
        return [f for f in self.frames() if f[0] == 2]


class AcceptAllTokens:
    """Authorizer for tests: every idToken is Accepted."""

    async def authorize(self, station_id: str, id_token: IdToken) -> IdTokenInfo:
        return IdTokenInfo(status=AuthorizationStatusEnum.ACCEPTED)


@dataclass
class Fakes:
    """In-memory ports sharing one outbox, on the harness's fake clock."""

    clock: FakeClock
    outbox: InMemoryOutbox = field(default_factory=InMemoryOutbox)
    bus: MemoryEventBus = field(default_factory=MemoryEventBus)
    stations: InMemoryStations = field(init=False)
    tx_events: InMemoryTransactionEvents = field(init=False)
    audit: InMemoryAuditLog = field(init=False)
    alerts: InMemoryAlerts = field(init=False)

    def __post_init__(self) -> None:
        self.stations = InMemoryStations(now=self.clock.now, outbox=self.outbox)
        self.tx_events = InMemoryTransactionEvents(now=self.clock.now, outbox=self.outbox,
                                                   stations=self.stations)
        self.audit = InMemoryAuditLog(now=self.clock.now)
        self.alerts = InMemoryAlerts(now=self.clock.now, outbox=self.outbox,
                                     stations=self.stations)


def make_deps(clock: Clock, *, stations: StationRepository,
              transactions: TransactionEventHandler, audit: AuditLog, bus: EventBus,
              authorizer: Authorizer | None = None, policy: Policy | None = None,
              persist_timeout_s: float = 5.0, alerts: Alerts | None = None) -> ChargePointDeps:
    """ChargePointDeps from explicit ports (fakes or real adapters)."""
    return ChargePointDeps(
        policy=policy or Policy(), stations=stations, transactions=transactions,
        authorizer=authorizer or UnknownTokens(), audit=audit, events=EventPublisher(bus),
        last_seen=LastSeenBatcher(stations, clock), persist_timeout_s=persist_timeout_s,
        alerts=alerts)


class ChargePointHarness:
    """A node tree on a FakeClock with StationSessions over in-memory ports.

    `connect` attaches a FakeLink; `call` feeds a station CALL and returns the answer once
    every actor is idle (deterministic: no sleeps).
    """

    def __init__(self, *, policy: Policy | None = None, authorizer: Authorizer | None = None,
                 transactions: TransactionEventHandler | None = None,
                 stations: StationRepository | None = None,
                 persist_timeout_s: float = 5.0, budget: BudgetSpec | None = None) -> None:
        self.clock = FakeClock()
        self.budget = budget
        self.fakes = Fakes(self.clock)
        auth = authorizer or UnknownTokens()
        self.deps = make_deps(
            self.clock, stations=stations or self.fakes.stations,
            transactions=transactions or StoreTransactionEvents(self.fakes.tx_events, auth),
            audit=self.fakes.audit, bus=self.fakes.bus, authorizer=auth, policy=policy,
            persist_timeout_s=persist_timeout_s, alerts=self.fakes.alerts)
        self.system = ActorSystem(clock=self.clock, name="node-1")
        self._sessions_no = itertools.count(1)
        self.tree: NodeTree | None = None
        self.sessions: StationSessions | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> ChargePointHarness:
        self.tree = await NodeTree.start(self.system)
        self.sessions = StationSessions(self.tree.charge_points, self.deps, budget=self.budget,
                                        monotonic=self.clock.monotonic)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await shutdown(self.system, self.clock)

    async def register(self, station_id: str, *, booted: bool = False) -> None:
        """Register a station in the fake repository (optionally as already booted)."""
        await self.fakes.stations.register(NewStation(id=station_id, security_profile=0))
        if booted:
            await self.fakes.stations.update_boot_info(
                station_id, BootInfo("V", "M"), self.clock.now())

    async def connect(self, station_id: str) -> tuple[FakeLink, Session]:
        """Attach a new FakeLink for the station and settle."""
        assert self.sessions is not None
        link = FakeLink(station_id, next(self._sessions_no))
        sink = await self.sessions.attach(link)
        await self.settle()
        return link, sink

    async def settle(self) -> None:
        """Run until every actor is idle (and pending bus events are published)."""
        await settle(self.system)
        await self.deps.events.flush()
        await settle(self.system)

    def new_id(self) -> str:
        return f"m-{next(self._ids)}"

    async def call(self, sink: Session, link: FakeLink, action: str,
                   payload: dict[str, Any], message_id: str | None = None) -> list[Any]:
        """Feed `[2, id, action, payload]`, settle, return the single answer frame."""
        mid = message_id or self.new_id()
        await sink.on_frame(msgspec.json.encode([2, mid, action, payload]))
        await self.settle()
        answers = link.replies(mid)
        assert len(answers) == 1, f"expected one answer to {mid}, got {answers}"
        return answers[0]


class WsLink:
    """A StationLink over a websockets server connection (what the real gateway provides)."""

    def __init__(self, ws: ServerConnection, station_id: str, session: int) -> None:
        self._ws = ws
        self.station_id = station_id
        self.session = session
        self.remote = "%s:%s" % ws.remote_address[:2]  # noqa: UP031
        self.security_profile = 0

    @property
    def is_open(self) -> bool:
        return self._ws.state is websockets.State.OPEN

    async def send(self, frame: bytes) -> None:
        try:
            await self._ws.send(frame, text=True)
        except websockets.ConnectionClosed as exc:
            raise LinkClosed(self.station_id, self.session) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._ws.close(code, reason)


class LoopbackGateway:
    """A minimal gateway for tests: ws://127.0.0.1:<port>/ocpp/<id>, no auth, ocpp2.0.1 only."""

    def __init__(self, sessions: StationSessions) -> None:
        self._sessions = sessions
        self._numbers = itertools.count(1)
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = unquote(ws.request.path.rsplit("/", 1)[-1])
        sink = await self._sessions.attach(WsLink(ws, station_id, next(self._numbers)))
        try:
            async for data in ws:
                await sink.on_frame(data)
        except websockets.ConnectionClosed:
            pass
        finally:
            await sink.on_close(ws.close_code, ws.close_reason or "")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LoopbackGateway]:
        """Serve on a free loopback port for the duration of the block."""
        async with websockets.serve(self._handler, "127.0.0.1", 0,
                                    subprotocols=[websockets.Subprotocol("ocpp2.0.1")],
                                    compression=None) as server:
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self
