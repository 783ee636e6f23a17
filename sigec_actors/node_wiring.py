"""Builds one node's adapters and services and hands them to the gateway and the REST layer."""

from __future__ import annotations

import hashlib
import hmac

from api.context import AppContext, utcnow
from api.idempotency import EXTRAS_KEY as IDEMPOTENCY
from api.routes.locations import EXTRAS_KEY as LOCATIONS
from api.routes.wallet import EXTRAS_KEY as WALLET_STATEMENT
from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_cache import PgCache
from sigec_actors.adapters.pg_idempotency import PgIdempotencyStore
from sigec_actors.adapters.pg_locations import PgLocations
from sigec_actors.adapters.pg_ocpp_blocks import PgBlocks
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgRefreshTokenRepository, PgUserRepository
from sigec_actors.adapters.pg_wallet import PgWalletStatement
from sigec_actors.admin_surface.wiring import OperatorWiring
from sigec_actors.bootstrap import Services, jwt_secret
from sigec_actors.charge_point.events import EventPublisher, LastSeenBatcher
from sigec_actors.charge_point.ports import ChargePointDeps
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.charge_point.wiring import policy_from
from sigec_actors.cluster.sessions import RoutedSessions, nats_router
from sigec_actors.config import Settings
from sigec_actors.device_model.wiring import DeviceModelWiring
from sigec_actors.domain.records import Caller
from sigec_actors.firmware.wiring import EXTRAS_KEY as FIRMWARE
from sigec_actors.firmware.wiring import FirmwareWiring
from sigec_actors.idempotency import Policy
from sigec_actors.jobs import Jobs, every
from sigec_actors.node_actors import NodeActorsView
from sigec_actors.node_ports import (
    ApiCommander,
    AuditedCommands,
    LocalCommander,
    SessionsLiveView,
)
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.call_budget import BudgetSpec
from sigec_actors.ocpp.gateway import OcppGateway
from sigec_actors.ocpp_blocks.wiring import EXTRAS_KEY as OCPP_BLOCKS
from sigec_actors.ocpp_blocks.wiring import OcppBlocks, tariff_messages
from sigec_actors.payments.wiring import EXTRAS_KEY as PAYMENTS
from sigec_actors.payments.wiring import PaymentsWiring
from sigec_actors.pki.wiring import EXTRAS_KEY as PKI
from sigec_actors.pki.wiring import PkiWiring, with_client_ca
from sigec_actors.reports.wiring import EXTRAS_KEY as REPORTS
from sigec_actors.reports.wiring import ReportsWiring
from sigec_actors.runtime import ActorSystem, SystemClock
from sigec_actors.services.metrics import Metrics
from sigec_actors.services.passwords import Passwords
from sigec_actors.smart_charging.sites import MeterFanout
from sigec_actors.smart_charging.wiring import EXTRAS_KEY as SMART_CHARGING
from sigec_actors.smart_charging.wiring import SmartChargingWiring
from sigec_actors.transactions_wiring import TransactionsWiring
from sigec_actors.v2g.plan_runner import PlansWiring
from sigec_actors.v2g.pricing import Submarket
from sigec_actors.v2g.wiring import PricesWiring
from sigec_actors.v2g_session.reprice import EXTRAS_KEY as V2G_REPRICING
from sigec_actors.v2g_session.wiring import EXTRAS_KEY as V2G_SESSIONS
from sigec_actors.v2g_session.wiring import V2GWiring
from sigec_actors.voice.wiring import EXTRAS_KEY as VOICE
from sigec_actors.voice.wiring import VoiceWiring

LAST_SEEN_FLUSH_S = 60.0
JOBS = Caller("system", "jobs")  # the caller of the commands the node's own jobs send
FIRMWARE_JOBS = Caller("system", "firmware")  # UpdateFirmware of firmware jobs
SITES = Caller("system", "sites")  # the caller of the site actors' TxProfiles
CACHE_PRUNE_S = 60.0  # expired rate-limit and deny-list rows (PgCache) are deleted this often
IDEMPOTENCY_PRUNE_S = 3600.0  # expired Idempotency-Key rows are deleted this often


class NodeWiring:
    """The node's object graph: repositories, StationSessions, the gateway, REST ports."""

    def __init__(self, settings: Settings, services: Services, tree: NodeTree,
                 actors: ActorSystem) -> None:
        pool = services.require_pool()
        self.settings = settings
        self.services = services
        self.actors = actors
        self.cache = services.cache or PgCache(pool)
        pay = settings.payments  # Idempotency-Key answers of money-moving POSTs (M4)
        self.idempotency = PgIdempotencyStore(pool, Policy(
            pay.idempotency_ttl_s, pay.idempotency_lock_timeout_s))
        self._jobs = Jobs()
        auth = settings.auth
        self.passwords = Passwords(auth.hash_concurrency,
                                   registration_slots=auth.register_hash_slots,
                                   registration_queue=auth.register_queue)
        self.stations = PgStationRepository(pool)
        self.users = PgUserRepository(pool)
        self.refresh_tokens = PgRefreshTokenRepository(pool)
        self.audit = PgAuditLog(pool)
        self.alerts = PgAlerts(pool)
        self.bus = NatsEventBus(services.require_nats())
        self.transactions = TransactionsWiring(pool, settings.billing)
        self.metrics = Metrics()
        self.prices = PricesWiring(pool, settings.v2g)  # V2G grid prices and their refresh
        # discharge sessions: fed by the charge points' meter values, settled to the wallet
        self.v2g = V2GWiring(
            pool, settings.v2g, tree.v2g, prices=self.prices.service,
            ledger=self.transactions.ledger, bus=self.bus, alerts=self.alerts,
            node=actors.name, audit=self.audit,  # control messages name and audit their caller
            jobs=lambda: self.router.commander.as_caller(JOBS),
            holds=lambda station_id: self.router.holds(station_id))  # noqa: PLW0108 -- router built below
        # autoDischarge plans: each due run started as the plan's user, claimed once cluster-wide
        self.plans = PlansWiring(pool, settings.v2g, lambda user: self.v2g.service(
            self.router.commander.as_caller(Caller("user", str(user)))))
        # wallet top-ups: provider (Stripe or the serve's fake), webhooks, reconciliation
        self.payments = PaymentsWiring(settings, pool, self.transactions.ledger,
                                       self.alerts)
        # the voice assistant runs its intents through this node's own REST API, as the caller
        self.voice = VoiceWiring(pool, settings.voice) if settings.voice.enabled else None
        # site load balancing, stored profiles, EV charging needs (issue 19)
        self.smart = SmartChargingWiring(
            pool, tree.sites, lambda: self.router.commander.as_caller(SITES),
            prices=self.prices.service, submarket=self.v2g.rows.submarket,
            default_submarket=Submarket(settings.v2g.default_submarket), bus=self.bus)
        deps = ChargePointDeps(
            policy=policy_from(settings.ocpp), stations=self.stations,
            transactions=self.transactions.service,  # Authorize answers name the tariff (I01)
            authorizer=tariff_messages(self.transactions.authorizer, pool, settings.billing),
            audit=self.audit, events=EventPublisher(self.bus),
            last_seen=LastSeenBatcher(self.stations, SystemClock(), LAST_SEEN_FLUSH_S),
            reservations=self.transactions.reservation_service, observer=self.metrics,
            alerts=self.alerts, persist_timeout_s=settings.billing.tx_timeout_s + 1.0,
            idle=self.transactions.reconciler,  # boots / Available: lost Endeds (issue #14)
            meters=MeterFanout(self.v2g.sessions, self.smart.sites),
            ev_reports=self.v2g.ev_reports)
        self.smart.register(deps.handlers)
        # firmware jobs and campaigns as actors under /node-N/firmware (issue 17)
        self.firmware = FirmwareWiring(
            pool, settings.firmware, tree.firmware, bus=self.bus, node=actors.name,
            alerts=self.alerts,
            commander=lambda: self.router.commander.as_caller(FIRMWARE_JOBS))
        self.firmware.register(deps.handlers)
        # device model, logs, monitoring, events (#18 part 1); the first-boot inventory is sent
        # as the node's jobs (router built below)
        self.device_model = DeviceModelWiring(
            pool, settings, deps.handlers, self.alerts,
            lambda: self.router.commander.as_caller(JOBS).send)
        self.blocks = OcppBlocks(PgBlocks(pool))  # local lists, display, meter values (#18)
        self.blocks.register(deps.handlers)
        # our CA, SignCertificate, Plug & Charge, OCSP; renewal asks as the node's jobs (#22)
        self.pki = PkiWiring.for_node(settings, pool, self.transactions.authorizer,
                                      lambda: self.router.commander.as_caller(JOBS).send,
                                      self.alerts, deps.handlers)
        ocpp = settings.ocpp
        self.sessions = StationSessions(tree.charge_points, deps, budget=BudgetSpec(
            ocpp.station_calls_per_s, ocpp.station_call_burst))
        self.local = AuditedCommands(LocalCommander(self.sessions), self.audit, actors.name)
        # with Redis, nodes share "recently verified" handshake entries under a key derived
        # from the JWT secret (the one secret every node already has); PgCache keeps them local
        digest_key = hmac.new(jwt_secret(settings).encode(), b"ocpp-verified",
                              hashlib.sha256).digest()
        # the node holding a station answers `sigec.cp.<id>.cmd` (cross-node routing)
        self.router = nats_router(services.require_nats(), actors.name, self.local, settings,
                                  on_takeover=self._taken_over)
        self.gateway = OcppGateway(with_client_ca(settings, self.pki),  # profile 3: our CA
                                   self.stations, self.passwords, self.cache,
                                   RoutedSessions(self.sessions, self.router),
                                   digest_key=digest_key, alerts=self.alerts,
                                   ready=self.sessions.accepting)
        self.tls = bool(settings.ocpp.tls_cert)
        self.reports = ReportsWiring(pool, tree.reports, actors.name)  # operator reports (#20)
        self.actors_view = NodeActorsView(actors, self.bus)
        self.operator = OperatorWiring(pool, settings, actors, self.alerts, self.bus,  # issue 20
                                       utcnow, self.metrics)

    def fill(self, ctx: AppContext) -> None:
        """Give the REST layer its ports."""
        ctx.users = self.users
        ctx.stations = self.stations
        ctx.refresh_tokens = self.refresh_tokens
        ctx.audit = self.audit
        ctx.alerts = self.alerts
        ctx.cache = self.cache
        ctx.passwords = self.passwords
        ctx.jwt_secret = jwt_secret(self.settings)
        ctx.commander = ApiCommander(self.router.commander)
        ctx.live = SessionsLiveView(self.sessions)
        from sigec_actors.cluster.hosted import CLUSTER_EXTRA  # hosted imports node: cycle

        control = ctx.extras.get(CLUSTER_EXTRA)  # set when a NodeHost runs this node
        self.actors_view = NodeActorsView(self.actors, self.bus,
                                          control.tree if control is not None else None)
        ctx.actors = self.actors_view
        ctx.metrics = self.metrics
        self.metrics.scrape_hooks.append(
            lambda m: m.connected_stations.set(self.gateway.live_count))
        self.transactions.fill(ctx)
        self.prices.fill(ctx)
        self.plans.fill(ctx)
        ctx.extras[LOCATIONS] = PgLocations(self.services.require_pool())
        ctx.extras[V2G_SESSIONS] = self.v2g
        ctx.extras[V2G_REPRICING] = self.v2g.repricing  # the admin settle route
        ctx.extras[WALLET_STATEMENT] = PgWalletStatement(self.services.require_pool())
        ctx.extras[IDEMPOTENCY] = self.idempotency
        ctx.extras[PAYMENTS] = self.payments
        if self.voice is not None:
            ctx.extras[VOICE] = self.voice
        ctx.extras[FIRMWARE] = self.firmware.service
        self.device_model.fill(ctx.extras)
        ctx.extras[REPORTS] = self.reports.service
        ctx.extras[SMART_CHARGING] = self.smart
        self.operator.fill(ctx)
        ctx.extras[OCPP_BLOCKS] = self.blocks
        ctx.extras[PKI] = self.pki

    async def start(self) -> None:
        """Start the node's background sweeps and its answer to forwarded actor actions."""
        self.transactions.start(self.router.commander.as_caller(JOBS))
        self.prices.start()
        self.payments.start()
        self.blocks.start(self.settings.ocpp.meter_values_retention_days)
        self.plans.start()
        self.reports.start()
        if self.pki is not None:
            self.pki.start()  # the renewal job
        self.smart.start()
        if isinstance(self.cache, PgCache):
            self._jobs.spawn("cache-prune", every(CACHE_PRUNE_S, self.cache.prune,
                                                  job="cache-prune"))
        self._jobs.spawn("idempotency-prune", every(
            IDEMPOTENCY_PRUNE_S, lambda: self.idempotency.prune(utcnow()),
            job="idempotency-prune"))
        await self.actors_view.serve()
        await self.v2g.serve()
        await self.firmware.serve()
        await self.operator.start()

    async def _taken_over(self, station_id: str, node: str) -> None:
        """The station reconnected to another node: let the old socket go."""
        await self.gateway.disconnect(station_id, 1000, f"connected to {node}")

    async def aclose(self) -> None:
        """Flush what the charge point side buffers (last-seen times, best-effort events)."""
        await self._jobs.stop()
        await self.prices.stop()
        await self.plans.stop()
        await self.reports.stop()
        await self.router.close()
        await self.actors_view.close()
        await self.transactions.stop()
        await self.v2g.aclose()
        await self.firmware.aclose()
        await self.smart.aclose()
        await self.payments.aclose()
        await self.blocks.aclose()
        if self.voice is not None:
            await self.voice.aclose()
        await self.device_model.aclose()
        if self.pki is not None:
            await self.pki.stop()
        await self.operator.aclose()
        await self.sessions.aclose()
