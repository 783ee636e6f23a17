"""Gateway test harness: a recording StationSessions, counting Passwords, raw HTTP, certificates."""

from __future__ import annotations

import asyncio
import base64
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.typing import Subprotocol

from sigec_actors.config import Settings, load_settings
from sigec_actors.domain.records import NewStation
from sigec_actors.ocpp.gateway import OcppGateway
from sigec_actors.ocpp.link import StationLink
from sigec_actors.ports import Cache, StationRepository
from sigec_actors.services.passwords import Passwords
from sigec_actors.testing import InMemoryStations, MemoryCache
from tests.helpers.pki import Pki, make_pki

PASSWORD = "correct-horse-battery-staple-1"
OCPP = Subprotocol("ocpp2.0.1")


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    """argon2id costs ~50 ms: hash each test password once per session."""
    return Passwords(1).hash_sync(password)


class CountingPasswords(Passwords):
    """The real argon2 Passwords, counting how many verifications actually ran."""

    def __init__(self, concurrency: int = 2) -> None:
        super().__init__(concurrency)
        self.verifications = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return await super().verify(password_hash, password)


@dataclass
class Session:
    link: StationLink
    frames: list[str | bytes] = field(default_factory=list)
    closes: list[tuple[int | None, str]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class RecordingSessions:
    """A tiny charge point side: records links, frames and closes; echoes frames back as text.

    `fail_on` makes on_frame raise for that exact frame (a sink bug); `live` tracks sessions
    attached and not yet closed, per identity.
    """

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.sessions: list[Session] = []
        self.fail_on: str | None = None
        self.attached = asyncio.Event()

    async def attach(self, link: StationLink) -> _Sink:
        session = Session(link)
        self.sessions.append(session)
        self.attached.set()
        return _Sink(self, session)

    def for_station(self, station_id: str) -> list[Session]:
        return [s for s in self.sessions if s.link.station_id == station_id]

    def last(self, station_id: str) -> Session:
        return self.for_station(station_id)[-1]


class _Sink:
    def __init__(self, owner: RecordingSessions, session: Session) -> None:
        self.owner = owner
        self.session = session

    async def on_frame(self, data: str | bytes) -> None:
        self.session.frames.append(data)
        if data == self.owner.fail_on:
            raise RuntimeError("sink bug on purpose")
        if self.owner.echo:
            await self.session.link.send(data.encode() if isinstance(data, str) else data)

    async def on_close(self, code: int | None, reason: str) -> None:
        self.session.closes.append((code, reason))
        self.session.closed.set()


def settings(shutdown_s: float = 5.0, **ocpp: Any) -> Settings:
    """Test defaults plus `ocpp` overrides (key names of the [ocpp] section)."""
    values: dict[str, Any] = {"ocpp.ping_interval_s": 5.0, "ocpp.ping_timeout_s": 5.0,
                              "server.shutdown_timeout_s": shutdown_s,
                              "auth.hash_concurrency": 2}
    values.update({f"ocpp.{k}": v for k, v in ocpp.items()})
    return load_settings(env={}, overrides=values)


@dataclass
class Harness:
    gateway: OcppGateway
    port: int
    tls_port: int | None
    stations: StationRepository
    sessions: RecordingSessions
    passwords: CountingPasswords

    def url(self, station: str, *, tls: bool = False) -> str:
        if tls:
            return f"wss://localhost:{self.tls_port}/ocpp/{station}"
        return f"ws://127.0.0.1:{self.port}/ocpp/{station}"

    async def add(self, station: str, profile: int, password: str | None = PASSWORD) -> None:
        digest = password_hash(password) if password is not None and profile in (1, 2) else None
        await self.stations.register(NewStation(id=station, security_profile=profile,
                                                password_hash=digest))


MakeGateway = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_gateway() -> AsyncIterator[MakeGateway]:
    """Start gateways on free loopback ports; stop them all at teardown."""
    started: list[OcppGateway] = []

    async def make(*, stations: StationRepository | None = None, cache: Cache | None = None,
                   sessions: RecordingSessions | None = None, tls: bool = False,
                   digest_key: bytes | None = None, shutdown_s: float = 5.0,
                   **ocpp: Any) -> Harness:
        stations = stations or InMemoryStations()
        sessions = sessions or RecordingSessions()
        passwords = CountingPasswords()
        gateway = OcppGateway(settings(shutdown_s, **ocpp), stations, passwords, cache or MemoryCache(),
                              sessions, digest_key=digest_key,
                              tune_gc=False)  # the test process keeps its collector
        started.append(gateway)
        port = await gateway.start("127.0.0.1", 0)
        tls_port = await gateway.start("127.0.0.1", 0, tls=True) if tls else None
        return Harness(gateway, port, tls_port, stations, sessions, passwords)

    yield make
    for gateway in started:
        await gateway.stop()


async def wait_for(predicate: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():
            await asyncio.sleep(0.005)


# --- raw HTTP --------------------------------------------------------------------------------

def upgrade_request(path: str, *, protocols: str | None = OCPP,
                    authorization: str | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Version: 13",
             f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"]
    if protocols is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocols}")
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def raw_upgrade(port: int, path: str, **kwargs: Any) -> RawResponse:
    """Send an upgrade request over plain TCP and read the status line and headers only."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(upgrade_request(path, **kwargs))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, reader, writer)


async def raw_status(port: int, path: str, **kwargs: Any) -> RawResponse:
    response = await raw_upgrade(port, path, **kwargs)
    response.writer.close()
    return response


# --- certificates ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA, a server certificate for localhost / 127.0.0.1, and client certificates."""
    return make_pki(tmp_path_factory.mktemp("pki"))
