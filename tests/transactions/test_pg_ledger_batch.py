"""On PostgreSQL: concurrent billing postings share one statement, and still post once each;
a replay or an overdraw in the batch is answered as PgLedgerRepository answers it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.domain.errors import InsufficientFunds
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.ports import DbPool
from tests.transactions.conftest import new_user

pytestmark = pytest.mark.pg


async def _wallet(pool: DbPool, ledger: PgLedgerRepository,
                  centavos: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A user's wallet holding `centavos`, and the platform revenue account."""
    user = await new_user(pool)
    wallet = await ledger.account(AccountKind.USER_WALLET, user)
    psp = await ledger.account(AccountKind.PSP_CLEARING)
    await ledger.post(NewJournalEntry("test_topup", uuid.uuid4().hex, (
        PostingIn(wallet.id, centavos), PostingIn(psp.id, -centavos))))
    revenue = await ledger.account(AccountKind.PLATFORM_REVENUE)
    return wallet.id, revenue.id


def _charge(tag: str, wallet: uuid.UUID, revenue: uuid.UUID, centavos: int) -> NewJournalEntry:
    return NewJournalEntry("test_charge", tag, (PostingIn(revenue, centavos),
                                                PostingIn(wallet, -centavos)))


async def test_a_burst_posts_in_one_statement_and_each_entry_once(pool: DbPool) -> None:
    plain = PgLedgerRepository(pool)
    batched = BatchedPgLedger(plain, pool)
    tag = uuid.uuid4().hex[:8]
    wallets = [await _wallet(pool, plain, 1_000) for _ in range(5)]
    replayed = _charge(f"{tag}-replay", *wallets[0], 100)
    first = await plain.post(replayed)
    fresh = [_charge(f"{tag}-{i}", *w, 300) for i, w in enumerate(wallets[1:])]
    calls = [batched.post(e, (OutboxMessage("wallet.debited", {"tag": tag}),)) for e in fresh]
    calls.insert(1, batched.post(replayed))
    results = await asyncio.gather(*calls)
    assert not results[1].created and results[1].entry.id == first.entry.id
    assert all(r.created for i, r in enumerate(results) if i != 1)
    async with pool.acquire() as conn:
        commits = await conn.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM journal_entries WHERE source_id = ANY($1)",
            [e.source_id for e in fresh])
        outbox = await conn.fetchval(
            "SELECT count(*) FROM event_outbox WHERE payload->>'tag' = $1", tag)
        drift = await conn.fetchval("SELECT count(*) FROM ledger_balance_drift")
    assert commits == 1 and outbox == 4 and drift == 0
    balances = await asyncio.gather(*(batched.balance(w) for w, _ in wallets))
    assert balances == [900, 700, 700, 700, 700]
    assert balances == [await plain.balance(w) for w, _ in wallets]


async def test_an_overdraw_in_the_burst_fails_alone(pool: DbPool) -> None:
    plain = PgLedgerRepository(pool)
    batched = BatchedPgLedger(plain, pool)
    tag = uuid.uuid4().hex[:8]
    wallets = [await _wallet(pool, plain, 1_000) for _ in range(4)]
    entries = [_charge(f"{tag}-{i}", *w, 300) for i, w in enumerate(wallets)]
    entries[2] = _charge(f"{tag}-poor", *wallets[2], 5_000)  # more than the wallet holds
    results = await asyncio.gather(*(batched.post(e) for e in entries),
                                   return_exceptions=True)
    assert isinstance(results[2], InsufficientFunds)
    assert all(not isinstance(r, BaseException) and r.created
               for i, r in enumerate(results) if i != 2)
    assert [await plain.balance(w) for w, _ in wallets] == [700, 700, 1_000, 700]
