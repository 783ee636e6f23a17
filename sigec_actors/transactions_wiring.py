"""Builds the transactions domain for a node: authorizer, billing, service, background sweeps."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from asyncpg import InterfaceError, PostgresError

from api.routes.id_tokens import TransactionPorts
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_reservations import PgReservationRepository
from sigec_actors.adapters.pg_tariffs import PgTariffRepository
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.adapters.pg_users import PgIdTokenRepository
from sigec_actors.config import BillingConfig
from sigec_actors.ports import DbPool
from sigec_actors.transactions.authorize import AuthCache, Authorizer
from sigec_actors.transactions.billing import BillingService
from sigec_actors.transactions.pg_queries import PgTransactionQueries
from sigec_actors.transactions.service import TransactionService
from sigec_actors.transactions.tariffs import default_tariff

log = structlog.get_logger("transactions")


def utcnow() -> datetime:
    return datetime.now(UTC)


class TransactionsWiring:
    """The node's transactions objects and the periodic billing sweep."""

    def __init__(self, pool: DbPool, cfg: BillingConfig) -> None:
        self.cfg = cfg
        self.queries = PgTransactionQueries(pool)
        self.ledger = PgLedgerRepository(pool)
        self.id_tokens = PgIdTokenRepository(pool)
        self.store = PgTransactionEventStore(pool)
        self.authorizer = Authorizer(
            self.id_tokens, self.ledger, self.queries, clock=utcnow,
            min_balance_centavos=cfg.min_balance_centavos,
            cache=AuthCache(ttl_s=cfg.auth_cache_ttl_s),
            station_cache_s=cfg.station_auth_cache_s)
        self.billing = BillingService(self.ledger)
        self.service = TransactionService(
            self.store, PgTariffRepository(pool), self.authorizer, self.billing,
            default_tariff=default_tariff(
                cfg.default_price_per_kwh_centavos, cfg.default_session_fee_centavos,
                cfg.default_per_minute_centavos, cfg.default_idle_per_minute_centavos),
            clock=utcnow, reservations=PgReservationRepository(pool),
            timeout_s=cfg.tx_timeout_s)
        self._sweeper: asyncio.Task[None] | None = None

    def ports(self) -> TransactionPorts:
        """What the id-token and transaction REST routes use."""
        return TransactionPorts(id_tokens=self.id_tokens, queries=self.queries, store=self.store,
                                ledger=self.ledger, authorizer=self.authorizer)

    def start(self) -> None:
        """Start the sweep that bills ended transactions whose billing was interrupted."""
        self._sweeper = asyncio.create_task(self._sweep(), name="billing-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.settle_interval_s)
            try:
                settled = await self.billing.settle_unbilled(self.queries)
            except (OSError, TimeoutError, PostgresError, InterfaceError) as exc:
                # database away: try again next round
                log.warning("billing_sweep_failed", error=f"{type(exc).__name__}: {exc}")
                continue
            if settled:
                log.info("billing_sweep", settled=len(settled))
