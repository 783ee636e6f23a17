"""PostgreSQL fixtures for the transactions tests: a migrated database, a pool, a PG world."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.adapters.pg_reservations import PgReservationRepository
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_tariffs import PgTariffRepository
from sigec_actors.adapters.pg_token_facts import PgTokenFacts
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.adapters.pg_users import PgIdTokenRepository
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import ConnectorStatus
from sigec_actors.ports import DbPool
from sigec_actors.transactions.authorize import Authorizer
from sigec_actors.transactions.billing import BillingService
from sigec_actors.transactions.pg_queries import PgTransactionQueries
from sigec_actors.transactions.service import TransactionService
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"


@pytest.fixture
async def pool(migrated_pg_dsn: str) -> AsyncIterator[DbPool]:
    p = await create_pool(migrated_pg_dsn, min_size=1, max_size=12)
    yield p
    await p.close()


async def new_station(pool: DbPool, evses: int = 0) -> str:
    """A station that reported EVSEs 1..`evses` (StatusNotification, one connector each)."""
    sid = f"CP-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", sid)
    repo = PgStationRepository(pool)
    for evse in range(1, evses + 1):
        await repo.set_connector_status(sid, evse, 1, ConnectorStatus.AVAILABLE, now=T0)
    return sid


async def new_user(pool: DbPool) -> uuid.UUID:
    async with pool.acquire() as conn:
        uid: uuid.UUID = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) VALUES ('u', $1, $2) RETURNING id",
            f"{uuid.uuid4().hex}@x.br", HASH)
    return uid


@dataclass
class PgWorld:
    pool: DbPool
    store: PgTransactionEventStore
    ledger: PgLedgerRepository
    tokens: PgIdTokenRepository
    tariffs: PgTariffRepository
    reservations: PgReservationRepository
    queries: PgTransactionQueries
    authorizer: Authorizer
    billing: BillingService
    service: TransactionService

    async def fund(self, user: uuid.UUID, centavos: int) -> None:
        wallet = await self.ledger.account(AccountKind.USER_WALLET, user)
        psp = await self.ledger.account(AccountKind.PSP_CLEARING)
        await self.ledger.post(NewJournalEntry("test_topup", uuid.uuid4().hex, (
            PostingIn(wallet.id, centavos), PostingIn(psp.id, -centavos))))

    async def balances(self, user: uuid.UUID) -> tuple[int, int]:
        wallet = await self.ledger.account(AccountKind.USER_WALLET, user)
        debt = await self.ledger.account(AccountKind.USER_RECEIVABLE, user)
        return await self.ledger.balance(wallet.id), await self.ledger.balance(debt.id)


def pg_world(pool: DbPool, tariff: Tariff | None = None, timeout_s: float = 5.0,
             attempts: int = 5, billing: BillingService | None = None,
             token_facts: bool = True) -> PgWorld:
    store, ledger = PgTransactionEventStore(pool), PgLedgerRepository(pool)
    tokens, tariffs = PgIdTokenRepository(pool), PgTariffRepository(pool)
    reservations, queries = PgReservationRepository(pool), PgTransactionQueries(pool)
    authorizer = Authorizer(tokens, ledger, queries, clock=lambda: T0,
                            reads=PgTokenFacts(pool) if token_facts else None)
    billing = billing or BillingService(BatchedPgLedger(ledger, pool))
    service = TransactionService(
        store, tariffs, authorizer, billing, clock=lambda: T0, reservations=reservations,
        default_tariff=tariff or Tariff(price_per_kwh_centavos=150, session_fee_centavos=100),
        timeout_s=timeout_s, attempts=attempts)
    return PgWorld(pool, store, ledger, tokens, tariffs, reservations, queries, authorizer,
                   billing, service)
