"""An in-process API on in-memory fakes, with one token per principal of the authorization matrix."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.context import AppContext
from api.idempotency import EXTRAS_KEY as IDEMPOTENCY
from api.ports import LiveStations
from api.routes import (
    dashboard,
    id_tokens,
    locations,
    reservations,
    station_admin,
    tariffs,
    v2g_prices,
    wallet,
)
from api.testing import FakeActors, FakeCommander, FakeLiveStations, actor_tree
from sigec_actors.config import load_settings
from sigec_actors.device_model.wiring import EXTRAS_KEY as DEVICE_MODEL
from sigec_actors.device_model.wiring import DeviceModelPorts
from sigec_actors.domain.records import NewLocation, NewStation, NewUser, Role
from sigec_actors.firmware.wiring import EXTRAS_KEY as FIRMWARE
from sigec_actors.ocpp_blocks.wiring import EXTRAS_KEY as OCPP_BLOCKS
from sigec_actors.ocpp_blocks.wiring import OcppBlocks
from sigec_actors.payments.wiring import EXTRAS_KEY as PAYMENTS
from sigec_actors.payments.wiring import PaymentsWiring, settings_for_test
from sigec_actors.pki.wiring import EXTRAS_KEY as PKI
from sigec_actors.ports import Cache, RefreshTokenRepository, StationRepository, UserRepository
from sigec_actors.reports.wiring import EXTRAS_KEY as REPORTS
from sigec_actors.services import tokens
from sigec_actors.services.passwords import Passwords
from sigec_actors.smart_charging.wiring import EXTRAS_KEY as SMART_CHARGING
from sigec_actors.testing import (
    InMemoryAlerts,
    InMemoryAuditLog,
    InMemoryRefreshTokens,
    InMemoryStations,
    InMemoryUsers,
    MemoryCache,
)
from sigec_actors.testing.admin_surface import (
    FixedDashboard,
    InMemoryStationDetails,
    InMemoryTariffAdmin,
)
from sigec_actors.testing.device_model import InMemoryDeviceModel
from sigec_actors.testing.firmware import InMemoryFirmware
from sigec_actors.testing.idempotency import InMemoryIdempotencyStore
from sigec_actors.testing.locations import InMemoryLocations
from sigec_actors.testing.ocpp_blocks import InMemoryBlocks
from sigec_actors.testing.payments import InMemoryPayments, InMemoryProvider
from sigec_actors.testing.pki import in_memory_pki
from sigec_actors.testing.reports import InMemoryReports
from sigec_actors.testing.smart_charging import InMemorySmartCharging
from sigec_actors.testing.v2g_plans import InMemoryPlans
from sigec_actors.testing.v2g_sessions import EmptyStatement, FakeV2G, NoSessionsToSettle
from sigec_actors.testing.voice import MemoryVoiceLog, StaticStationNames
from sigec_actors.v2g.plan_runner import EXTRAS_KEY as PLANS
from sigec_actors.v2g_session.reprice import EXTRAS_KEY as V2G_REPRICING
from sigec_actors.v2g_session.wiring import EXTRAS_KEY as V2G_SESSIONS
from sigec_actors.voice.wiring import EXTRAS_KEY as VOICE
from sigec_actors.voice.wiring import VoiceWiring

SECRET = "test-secret-" + "0123456789abcdef" * 4
PASSWORD = "correct horse battery"
PASSWORDS = Passwords(2)
_HASH: list[str] = []
PRINCIPALS = ("user", "other", "operator", "admin")
ROLES = {"user": Role.USER, "other": Role.USER, "operator": Role.OPERATOR, "admin": Role.ADMIN}


def password_hash() -> str:
    """One real argon2id hash of PASSWORD, computed once per test session."""
    if not _HASH:
        _HASH.append(PASSWORDS.hash_sync(PASSWORD))
    return _HASH[0]


class Clock:
    """A settable UTC clock for the API (token issue and expiry)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    ctx: AppContext
    clock: Clock
    commander: FakeCommander
    audit: Any  # InMemoryAuditLog unless a test passes another AuditLog
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None = None,
                   **kwargs: Any) -> ClientResponse:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, who: str | None = None, status: int = 200,
                   **kwargs: Any) -> Any:
        resp = await self.call(method, path, who, **kwargs)
        body = await resp.json(content_type=None)
        assert resp.status == status, (resp.status, body)
        return body

    def token_for(self, user_id: str, role: Role, ttl_s: int = 300) -> str:
        key = tokens.TokenKey.from_secret(SECRET)
        return tokens.issue_access(key, user_id, role, now=self.clock(), ttl_s=ttl_s,
                                   jti=tokens.new_jti())[0]

    async def close(self) -> None:
        await self.client.close()


async def seed_stations(stations: StationRepository) -> None:
    """CP-1 and CP-2 in Fortaleza (CP-1 nearer the centre), CP-3 in São Paulo, CP-4 unplaced."""
    places = {"CP-1": (-3.7319, -38.5267), "CP-2": (-3.7600, -38.5000),
              "CP-3": (-23.5505, -46.6333)}
    for station_id, (lat, lng) in places.items():
        loc = await stations.add_location(NewLocation(f"site {station_id}", lat, lng))
        await stations.register(NewStation(station_id, 1, password_hash(), "ACME", "X1", loc.id))
    await stations.register(NewStation("CP-4", 3, None, "ACME", "X2"))


def _transaction_ports() -> id_tokens.TransactionPorts:
    """In-memory transaction ports, so the matrix covers the transaction routes too."""
    from tests.transactions.builders import world

    w = world()
    return id_tokens.TransactionPorts(id_tokens=w.tokens, queries=w.queries, store=w.store,
                                      ledger=w.ledger, authorizer=w.authorizer)


def _reservation_ports() -> reservations.ReservationPorts:
    """In-memory reservation ports, so the matrix covers the reservation routes too."""
    from sigec_actors.transactions.reservations import ReservationService
    from tests.transactions.fakes import ListedReservations

    repo = ListedReservations()
    return reservations.ReservationPorts(service=ReservationService(repo), repo=repo,
                                         listing=repo)


async def price_ports(now: datetime) -> v2g_prices.PricePorts:
    """Grid prices on the in-memory store: the fixture week laid over 8 days ago..tomorrow."""
    from sigec_actors.testing.v2g import InMemoryPriceStore
    from sigec_actors.v2g.fixture import load_fixture, project
    from sigec_actors.v2g.peak import PeakWindow
    from sigec_actors.v2g.pricing import RetailPolicy, Submarket
    from sigec_actors.v2g.service import GridPriceService

    store = InMemoryPriceStore({"CP-1": None, "CP-2": None, "CP-3": Submarket.S, "CP-4": None})
    await store.upsert(project(load_fixture(), now.date() - timedelta(days=8), 10))
    return v2g_prices.PricePorts(
        prices=GridPriceService(store, "fixture", PeakWindow()), stations=store,
        policy=RetailPolicy("test-1", 1_000_000, 0, 1000), default_submarket=Submarket.SE)


async def start_api(*, users: UserRepository | None = None,
                    stations: StationRepository | None = None,
                    refresh_tokens: RefreshTokenRepository | None = None,
                    cache: Cache | None = None, live: LiveStations | None = None,
                    seed: bool = True, **ctx_fields: Any) -> Api:
    """Start the app on fakes (or the given ports), seeded with stations and principals."""
    clock = Clock()
    users = users or InMemoryUsers()
    stations = stations or InMemoryStations()
    audit = ctx_fields.pop("audit", None) or InMemoryAuditLog()
    commander = FakeCommander(online={"CP-1"})
    ctx = AppContext(
        settings=ctx_fields.pop("settings", None) or load_settings({}), users=users,
        stations=stations,
        refresh_tokens=refresh_tokens or InMemoryRefreshTokens(), audit=audit,
        cache=cache or MemoryCache(), passwords=ctx_fields.pop("passwords", PASSWORDS),
        jwt_secret=SECRET, clock=clock,
        commander=commander, live=live or FakeLiveStations(),
        actors=ctx_fields.pop("actors", FakeActors(actor_tree())),
        alerts=ctx_fields.pop("alerts", None) or InMemoryAlerts(now=clock), **ctx_fields)
    ctx.extras.setdefault(id_tokens.EXTRAS_KEY, _transaction_ports())
    ctx.extras.setdefault(reservations.EXTRAS_KEY, _reservation_ports())
    ctx.extras.setdefault(V2G_SESSIONS, FakeV2G(("CP-1", "CP-2", "CP-3", "CP-4")))
    ctx.extras.setdefault(wallet.EXTRAS_KEY, EmptyStatement())
    ctx.extras.setdefault(IDEMPOTENCY, InMemoryIdempotencyStore())
    if PAYMENTS not in ctx.extras:  # payments on an in-memory store and provider
        ctx.extras[PAYMENTS] = PaymentsWiring(
            settings_for_test(ctx.settings, webhook_secret="whsec_harness"), None, None,
            ctx.alerts, store=InMemoryPayments(), provider=InMemoryProvider())
    ctx.extras.setdefault(PLANS, InMemoryPlans())
    ctx.extras.setdefault(tariffs.EXTRAS_KEY, InMemoryTariffAdmin())
    if isinstance(stations, InMemoryStations):
        ctx.extras.setdefault(station_admin.EXTRAS_KEY, InMemoryStationDetails(stations))
    ctx.extras.setdefault(dashboard.EXTRAS_KEY, FixedDashboard())
    ctx.extras.setdefault(REPORTS, InMemoryReports(clock))
    ctx.extras.setdefault(locations.EXTRAS_KEY, InMemoryLocations())
    ctx.extras.setdefault(DEVICE_MODEL, DeviceModelPorts(  # uploads never reach the log dir
        InMemoryDeviceModel(), ctx.settings.device_model, Path(tempfile.gettempdir())))
    ctx.extras.setdefault(OCPP_BLOCKS, OcppBlocks(InMemoryBlocks(), clock))
    ctx.extras.setdefault(SMART_CHARGING, InMemorySmartCharging())
    ctx.extras.setdefault(PKI, in_memory_pki())  # CA in one temporary dir per process
    ctx.extras.setdefault(FIRMWARE, InMemoryFirmware(("CP-1", "CP-2", "CP-3", "CP-4")))
    ctx.extras.setdefault(V2G_REPRICING, NoSessionsToSettle())
    ctx.extras.setdefault(VOICE, VoiceWiring(None, ctx.settings.voice, log=MemoryVoiceLog(),
                                             names=StaticStationNames(["CP-1", "CP-2"])))
    if v2g_prices.EXTRAS_KEY not in ctx.extras:
        ctx.extras[v2g_prices.EXTRAS_KEY] = await price_ports(clock())
    client = TestClient(TestServer(create_app(ctx)))
    await client.start_server()
    api = Api(client, ctx, clock, commander, audit)
    if seed:
        await seed_stations(stations)
        for name in PRINCIPALS:
            user = await users.create(NewUser(name, f"{name}@example.com", password_hash(),
                                              ROLES[name]))
            api.ids[name] = str(user.id)
            api.tokens[name] = api.token_for(str(user.id), user.role)
    return api
