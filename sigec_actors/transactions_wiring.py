"""Builds the transactions domain for a node: authorizer, billing, service, background jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import structlog

from api.context import AppContext
from api.routes.id_tokens import EXTRAS_KEY as TRANSACTIONS_KEY
from api.routes.id_tokens import TransactionPorts
from api.routes.reservations import EXTRAS_KEY as RESERVATIONS_KEY
from api.routes.reservations import ReservationPorts
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_lease import ConnectionLease, LeasedPool
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.adapters.pg_reservations import PgReservationRepository
from sigec_actors.adapters.pg_tariffs import PgTariffRepository
from sigec_actors.adapters.pg_token_facts import PgTokenFacts
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.adapters.pg_users import PgIdTokenRepository
from sigec_actors.config import BillingConfig
from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool
from sigec_actors.transactions.authorize import AuthCache, Authorizer
from sigec_actors.transactions.background import Background
from sigec_actors.transactions.billing import BillingService
from sigec_actors.transactions.costs import CostNotifier
from sigec_actors.transactions.pg_queries import PgTransactionQueries
from sigec_actors.transactions.pg_reconcile import PgIncompleteTransactions
from sigec_actors.transactions.plausibility import Limits
from sigec_actors.transactions.ports import Commander
from sigec_actors.transactions.reconcile import Reconciler
from sigec_actors.transactions.reservations import ExpiryTimer, ReservationService
from sigec_actors.transactions.service import TransactionService
from sigec_actors.transactions.tariffs import default_tariff

log = structlog.get_logger("transactions")
LEASED_CONNECTIONS = 6
"""Pool connections the transactions domain uses at most (kept between calls while busy)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tuning(msgspec.Struct, frozen=True, kw_only=True):
    """Knobs of the background jobs (to become `[billing]` keys; see the module's owner).

    `send_cost_updated`: send CostUpdated to stations (not every station supports it).
    """

    send_cost_updated: bool = False
    cost_updated_interval_s: float = 60.0
    reconcile_interval_s: float = 60.0
    reconcile_grace_s: float = 60.0
    reconcile_retry_s: float = 300.0
    reservation_max_wait_s: float = 30.0


class TransactionsWiring:
    """The node's transactions objects and their periodic jobs.

    `start(commander)` gives the jobs that talk to stations (reservation expiry, CostUpdated,
    reconciliation) the node's command channel: the router's commander reaches a station on
    any node, and its errors are the charge point's CommandErrors.
    """

    def __init__(self, pool: DbPool, cfg: BillingConfig, tuning: Tuning | None = None) -> None:
        self.cfg = cfg
        # The repositories below leave no session state: they skip the pool's reset round
        # trip (PgAuditLog takes the pool itself: it also accepts a connection, told apart
        # from a pool by its type).
        audit, pool = PgAuditLog(pool), LeasedPool(ConnectionLease(pool, size=LEASED_CONNECTIONS))
        self.leased = pool
        self.tuning = tuning = tuning or Tuning(
            send_cost_updated=cfg.send_cost_updated,
            cost_updated_interval_s=cfg.cost_updated_interval_s,
            reconcile_interval_s=cfg.reconcile_interval_s,
            reconcile_grace_s=cfg.reconcile_grace_s, reconcile_retry_s=cfg.reconcile_retry_s)
        self.queries = PgTransactionQueries(pool)
        self.ledger = PgLedgerRepository(pool)
        self.id_tokens = PgIdTokenRepository(pool)
        self.store = PgTransactionEventStore(pool)
        self.reservations = PgReservationRepository(pool)
        self.authorizer = Authorizer(
            self.id_tokens, self.ledger, self.queries, clock=utcnow,
            min_balance_centavos=cfg.min_balance_centavos,
            cache=AuthCache(ttl_s=cfg.auth_cache_ttl_s),
            station_cache_s=cfg.station_auth_cache_s, reads=PgTokenFacts(pool))
        self.billing = BillingService(BatchedPgLedger(self.ledger, pool))
        self.background = Background()
        self.costs = CostNotifier(utcnow, enabled=tuning.send_cost_updated,
                                  min_interval_s=tuning.cost_updated_interval_s,
                                  background=self.background)
        self.reconciler = Reconciler(
            self.store, PgIncompleteTransactions(pool), audit, utcnow,
            grace_s=tuning.reconcile_grace_s, retry_after_s=tuning.reconcile_retry_s,
            background=self.background, alerts=PgAlerts(pool))
        self.service = TransactionService(
            self.store, PgTariffRepository(pool), self.authorizer, self.billing,
            default_tariff=default_tariff(
                cfg.default_price_per_kwh_centavos, cfg.default_session_fee_centavos,
                cfg.default_per_minute_centavos, cfg.default_idle_per_minute_centavos),
            clock=utcnow, reservations=self.reservations, timeout_s=cfg.tx_timeout_s,
            observers=(self.costs, self.reconciler), limits=Limits(
                max_seq_jump=cfg.tx_max_seq_jump, max_register_wh=cfg.meter_max_register_wh,
                max_power_w=cfg.meter_max_power_w))
        self.reservation_service = ReservationService(
            self.reservations, max_live_per_user=cfg.max_live_reservations_per_user)
        self.expiry = ExpiryTimer(self.reservation_service, utcnow,
                                  max_wait_s=tuning.reservation_max_wait_s)
        self._jobs = Jobs()

    def ports(self) -> TransactionPorts:
        """What the id-token and transaction REST routes use."""
        return TransactionPorts(id_tokens=self.id_tokens, queries=self.queries, store=self.store,
                                ledger=self.ledger, authorizer=self.authorizer)

    def reservation_ports(self) -> ReservationPorts:
        """What the reservation REST routes use."""
        return ReservationPorts(service=self.reservation_service, repo=self.reservations,
                                listing=self.reservations, timer=self.expiry)

    def fill(self, ctx: AppContext) -> None:
        """Give the REST layer the transaction and reservation ports."""
        ctx.extras[TRANSACTIONS_KEY] = self.ports()
        ctx.extras[RESERVATIONS_KEY] = self.reservation_ports()

    def start(self, commander: Commander | None = None) -> None:
        """Start the billing sweep, the reservation expiry timer and reconciliation.

        Without a commander, expired reservations are only marked in the database and
        nothing is sent to stations (CostUpdated, GetTransactionStatus).
        """
        for job in (self.costs, self.reconciler, self.expiry):
            job.bind(commander)
        self._jobs.spawn("billing-sweep", every(
            self.cfg.settle_interval_s, self._settle, job="billing-sweep"))
        self._jobs.spawn("reservation-expiry", self.expiry.run())
        self._jobs.spawn("transaction-reconcile", every(
            self.tuning.reconcile_interval_s, self._reconcile, job="transaction-reconcile"))

    async def stop(self) -> None:
        await self._jobs.stop()
        await self.background.aclose()
        await self.leased.close()

    async def _settle(self) -> None:
        settled = await self.billing.settle_unbilled(self.queries)
        if settled:
            log.info("billing_sweep", settled=len(settled))

    async def _reconcile(self) -> None:
        checked = await self.reconciler.run_once()
        if checked:
            log.info("reconcile", checked=len(checked),
                     outcomes=sorted({c.outcome.value for c in checked}))
