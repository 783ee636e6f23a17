"""M3 on PostgreSQL: 50 concurrent debits of X against 10X from two nodes -> exactly 10 succeed."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.adapters.pg_payments import PgPayments
from sigec_actors.domain.errors import InsufficientFunds
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.payments.model import SOURCE_TOPUP, ProviderEvent
from sigec_actors.ports import DbPool, LedgerRepository
from sigec_actors.transactions.billing import BillingService, Settlement, SettlementKind
from tests.transactions.conftest import new_user

pytestmark = pytest.mark.pg
DEBITS, COVERED = 50, 10
EXAMPLES = settings(max_examples=6, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
Ledgers = Callable[[DbPool], LedgerRepository]
LEDGERS: dict[str, Ledgers] = {
    "plain": PgLedgerRepository,
    "batched": lambda pool: BatchedPgLedger(PgLedgerRepository(pool), pool),
}


async def _two_nodes(dsn: str, body: Callable[[list[DbPool]], Awaitable[Any]]) -> Any:
    """Run `body` with two pools on the database, as two node processes would hold them."""
    pools = [await create_pool(dsn, min_size=1, max_size=10) for _ in range(2)]
    try:
        return await body(pools)
    finally:
        for pool in pools:
            await pool.close()


async def _funded_wallet(pool: DbPool, centavos: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A new user's wallet holding `centavos` (a top-up from the PSP), and its user id."""
    ledger, user = PgLedgerRepository(pool), await new_user(pool)
    wallet = await ledger.account(AccountKind.USER_WALLET, user)
    psp = await ledger.account(AccountKind.PSP_CLEARING)
    await ledger.post(NewJournalEntry("stripe_event", f"evt_{uuid.uuid4().hex}", (
        PostingIn(wallet.id, centavos), PostingIn(psp.id, -centavos))))
    return wallet.id, user


async def _checks(pool: DbPool, wallet: uuid.UUID) -> tuple[int, int, int]:
    """(wallet balance as the sum of its postings, its cached balance, drifting accounts)."""
    async with pool.acquire() as conn:
        posted = await conn.fetchval("SELECT coalesce(sum(amount_centavos), 0) FROM postings"
                                     " WHERE account_id = $1", wallet)
        cached = await conn.fetchval("SELECT balance_centavos FROM ledger_accounts"
                                     " WHERE id = $1", wallet)
        drift = await conn.fetchval("SELECT count(*) FROM ledger_balance_drift")
    return int(posted), int(cached), int(drift)


@pytest.mark.parametrize("kind", sorted(LEDGERS))
@EXAMPLES
@given(x=st.integers(1, 10**7), seed=st.integers(0, 2**32))
def test_fifty_debits_of_x_against_ten_x_from_two_nodes(
        migrated_pg_dsn: str, kind: str, x: int, seed: int) -> None:
    asyncio.run(_two_nodes(migrated_pg_dsn, lambda pools: _debits(pools, kind, x, seed)))


async def _debits(pools: list[DbPool], kind: str, x: int, seed: int) -> None:
    ledgers = [LEDGERS[kind](pool) for pool in pools]
    wallet, _ = await _funded_wallet(pools[0], COVERED * x)
    revenue = (await ledgers[0].account(AccountKind.PLATFORM_REVENUE)).id
    tag = uuid.uuid4().hex

    async def debit(i: int, node: int) -> bool:
        entry = NewJournalEntry("charging_session", f"{tag}/{i}",
                                (PostingIn(wallet, -x), PostingIn(revenue, x)))
        try:
            await ledgers[node].post(entry, [OutboxMessage("wallet.debited", {"tag": tag})])
        except InsufficientFunds:
            return False
        return True

    rng = random.Random(seed)
    outcomes = await asyncio.gather(*(debit(i, rng.randrange(2)) for i in range(DEBITS)))
    assert sum(outcomes) == COVERED
    assert await ledgers[1].balance(wallet) == 0
    assert await _checks(pools[1], wallet) == (0, 0, 0)
    async with pools[1].acquire() as conn:
        entries = await conn.fetchval("SELECT count(*) FROM journal_entries"
                                      " WHERE source_id LIKE $1", f"{tag}/%")
        events = await conn.fetchval("SELECT count(*) FROM event_outbox"
                                     " WHERE payload->>'tag' = $1", tag)
    assert entries == events == COVERED  # a refused debit leaves no entry and no event


def _ended(user: uuid.UUID, station: str, n: int, cost: int) -> Transaction:
    now = datetime.now(UTC)
    return Transaction(id=uuid.uuid4(), station_id=station, station_transaction_id=f"tx-{n}",
                       created_at=now, updated_at=now, status=TxStatus.ENDED, user_id=user,
                       cost_centavos=cost, energy_wh=1000)


@EXAMPLES
@given(x=st.integers(2, 10**7), extra=st.integers(0, 10**7), seed=st.integers(0, 2**32))
def test_fifty_sessions_billed_at_once_from_two_nodes_pay_what_the_wallet_holds(
        migrated_pg_dsn: str, x: int, extra: int, seed: int) -> None:
    """The billing path's overdraft rule: a session is never refused; the wallet pays what it
    holds and the shortfall is booked on the user's receivable. So with 10X + r (0 <= r < X)
    in the wallet, 10 sessions are paid in full, one pays r and owes X - r, the rest owe X."""
    rest = extra % x
    asyncio.run(_two_nodes(migrated_pg_dsn, lambda pools: _billing(pools, x, rest, seed)))


async def _billing(pools: list[DbPool], x: int, rest: int, seed: int) -> None:
    wallet, user = await _funded_wallet(pools[0], COVERED * x + rest)
    nodes = [BillingService(LEDGERS["batched"](pool)) for pool in pools]  # as the node wires it
    station, rng = f"CP-{uuid.uuid4().hex[:8]}", random.Random(seed)
    done: list[Settlement] = await asyncio.gather(*(
        nodes[rng.randrange(2)].settle(_ended(user, station, i, x)) for i in range(DEBITS)))
    assert all(s.kind is SettlementKind.POSTED and s.created for s in done)
    assert all(s.wallet_centavos + s.receivable_centavos == x for s in done)
    paid = sorted((s.wallet_centavos for s in done), reverse=True)
    assert paid == [x] * COVERED + ([rest] if rest else []) + [0] * (DEBITS - COVERED - bool(rest))
    ledger = PgLedgerRepository(pools[1])
    debt = await ledger.account(AccountKind.USER_RECEIVABLE, user)
    assert await ledger.balance(debt.id) == -(DEBITS * x - COVERED * x - rest)
    assert await _checks(pools[1], wallet) == (0, 0, 0)


def test_one_webhook_applied_100_times_at_once_by_two_nodes_credits_once(
        migrated_pg_dsn: str) -> None:
    """M5 below HTTP: PgPayments.apply of one event id, 100 times across two pools."""
    asyncio.run(_two_nodes(migrated_pg_dsn, _replayed_webhook))


async def _replayed_webhook(pools: list[DbPool]) -> None:
    wallet, user = await _funded_wallet(pools[0], 1)
    stores = [PgPayments(pool, PgLedgerRepository(pool)) for pool in pools]
    payment = await stores[0].insert(uuid.uuid4(), user, "fake", "pix", 4321)
    event = ProviderEvent(event_id=f"evt_{uuid.uuid4().hex}", type="payment_intent.succeeded",
                          provider_payment_id=f"pi_{uuid.uuid4().hex}", payment_id=payment.id,
                          payload={"object": "payment_intent", "status": "succeeded"})
    done = await asyncio.gather(*(stores[i % 2].apply("fake", event) for i in range(100)))
    assert sum(a.credited for a in done) == 1 and sum(not a.duplicate for a in done) == 1
    assert await _checks(pools[1], wallet) == (4322, 4322, 0)
    async with pools[1].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM journal_entries WHERE source_type = $1"
                                   " AND source_id = $2", SOURCE_TOPUP, str(payment.id)) == 1
