"""What the database itself guarantees: no duplicates, balanced entries, no overdraw (M1-M3, M7)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.domain import errors as e
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.domain.transactions import (
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxDecision,
    TxEventType,
)
from sigec_actors.ports import DbPool

pytestmark = pytest.mark.pg
T0 = datetime(2026, 3, 1, tzinfo=UTC)
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"


async def _station(pool: DbPool) -> str:
    sid = f"CP-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", sid)
    return sid


async def _user(pool: DbPool) -> uuid.UUID:
    async with pool.acquire() as conn:
        uid: uuid.UUID = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) VALUES ('a', $1, $2) RETURNING id",
            f"{uuid.uuid4().hex}@x.br", HASH)
    return uid


async def test_one_transaction_per_station_and_transaction_id(pg_pool: DbPool) -> None:
    sid = await _station(pg_pool)
    async with pg_pool.acquire() as conn:
        sql = ("INSERT INTO transactions (charge_point_id, station_transaction_id)"
               " VALUES ($1, 'tx-1')")
        await conn.execute(sql, sid)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(sql, sid)
        other = await _station(pg_pool)
        await conn.execute(sql, other)  # the same OCPP id on another station is fine


async def test_transaction_event_key_unique_and_append_only(pg_pool: DbPool) -> None:
    sid = await _station(pg_pool)
    sql = ("INSERT INTO transaction_events (charge_point_id, station_transaction_id, seq_no,"
           " event_type, occurred_at, payload) VALUES ($1, 't', 0, 'Started', now(), '{}')")
    async with pg_pool.acquire() as conn:
        await conn.execute(sql, sid)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(sql, sid)
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("UPDATE transaction_events SET response = '{\"x\": 1}'"
                               " WHERE charge_point_id = $1", sid)


async def _accounts(pool: DbPool) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    ledger = PgLedgerRepository(pool)
    uid = await _user(pool)
    wallet = await ledger.account(AccountKind.USER_WALLET, uid)
    clearing = await ledger.account(AccountKind.PSP_CLEARING)
    revenue = await ledger.account(AccountKind.PLATFORM_REVENUE)
    return wallet.id, clearing.id, revenue.id


async def test_unbalanced_entry_is_rejected_at_commit(pg_pool: DbPool) -> None:
    wallet, clearing, _ = await _accounts(pg_pool)
    async with pg_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        entry = await conn.fetchval("INSERT INTO journal_entries (source_type, source_id)"
                                    " VALUES ('raw', $1) RETURNING id", uuid.uuid4().hex)
        await conn.execute("INSERT INTO postings (journal_entry_id, account_id, amount_centavos)"
                           " VALUES ($1, $2, 100), ($1, $3, -99)", entry, wallet, clearing)
        # Deferred: the statements succeed, the commit does not.
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="unbalanced"):
            await tx.commit()
        assert await conn.fetchval("SELECT count(*) FROM journal_entries WHERE id = $1",
                                   entry) == 0
        # An entry with no postings at all is rejected the same way.
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            async with conn.transaction():
                await conn.execute("INSERT INTO journal_entries (source_type, source_id)"
                                   " VALUES ('raw', $1)", uuid.uuid4().hex)


async def test_postings_are_immutable(pg_pool: DbPool) -> None:
    wallet, clearing, _ = await _accounts(pg_pool)
    ledger = PgLedgerRepository(pg_pool)
    await ledger.post(NewJournalEntry("raw", uuid.uuid4().hex,
                                      (PostingIn(wallet, 10), PostingIn(clearing, -10))))
    async with pg_pool.acquire() as conn:
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("UPDATE postings SET amount_centavos = 20 WHERE account_id = $1",
                               wallet)
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("DELETE FROM postings WHERE account_id = $1", wallet)
        # A wallet cannot go negative even through raw SQL.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE ledger_accounts SET balance_centavos = -1 WHERE id = $1",
                               wallet)


async def test_duplicate_source_event_posts_once_even_concurrently(pg_pool: DbPool) -> None:
    wallet, clearing, _ = await _accounts(pg_pool)
    ledger = PgLedgerRepository(pg_pool)
    entry = NewJournalEntry("stripe_event", f"evt_{uuid.uuid4().hex}",
                            (PostingIn(wallet, 2500), PostingIn(clearing, -2500)))
    results = await asyncio.gather(*(ledger.post(entry) for _ in range(10)))
    assert sum(r.created for r in results) == 1
    assert len({r.entry.id for r in results}) == 1
    assert await ledger.balance(wallet) == 2500
    async with pg_pool.acquire() as conn:
        n = await conn.fetchval("SELECT count(*) FROM postings WHERE journal_entry_id = $1",
                                results[0].entry.id)
    assert n == 2


async def test_concurrent_debits_never_overdraw(pg_pool: DbPool) -> None:
    """M3: 50 concurrent debits of X against 10X -> exactly 10 succeed."""
    wallet, clearing, revenue = await _accounts(pg_pool)
    ledger = PgLedgerRepository(pg_pool)
    x = 1234
    await ledger.post(NewJournalEntry("topup", uuid.uuid4().hex,
                                      (PostingIn(wallet, 10 * x), PostingIn(clearing, -10 * x))))

    async def debit(i: int) -> bool:
        try:
            await ledger.post(NewJournalEntry(
                "charging_session", f"{wallet}/{i}", (PostingIn(wallet, -x), PostingIn(revenue, x))),
                events=[OutboxMessage("wallet.debited", {"i": i})])
        except e.InsufficientFunds:
            return False
        return True

    outcomes = await asyncio.gather(*(debit(i) for i in range(50)))
    assert sum(outcomes) == 10
    assert await ledger.balance(wallet) == 0
    async with pg_pool.acquire() as conn:
        assert await conn.fetch("SELECT * FROM ledger_balance_drift") == []
        assert await conn.fetchval(
            "SELECT count(*) FROM event_outbox WHERE subject = 'wallet.debited'"
            " AND payload->>'i' IS NOT NULL AND created_at > now() - interval '1 minute'") >= 10
        assert await conn.fetchval("SELECT coalesce(sum(amount_centavos), 0) FROM postings") == 0


async def test_concurrent_duplicate_transaction_events_store_once(pg_pool: DbPool) -> None:
    sid = await _station(pg_pool)
    store = PgTransactionEventStore(pg_pool)
    calls = 0

    def decide(current: Transaction | None) -> TxDecision:
        nonlocal calls
        calls += 1
        return TxDecision(state=TransactionState(started_at=T0), response={"n": calls},
                          events=(OutboxMessage("transaction.started", {"s": sid}),))

    event = TransactionEventIn(station_id=sid, station_transaction_id="T", seq_no=0,
                               event_type=TxEventType.STARTED, occurred_at=T0, payload={})
    results = await asyncio.gather(*(store.record(event, decide) for _ in range(10)))
    assert calls == 1
    assert [r.duplicate for r in results].count(False) == 1
    assert {r.response["n"] for r in results} == {1}
    async with pg_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_outbox WHERE payload->>'s' = $1",
                                   sid) == 1


async def test_failed_decide_leaves_nothing_behind(pg_pool: DbPool) -> None:
    sid = await _station(pg_pool)
    store = PgTransactionEventStore(pg_pool)

    def boom(current: Transaction | None) -> TxDecision:
        raise RuntimeError("decide failed")

    event = TransactionEventIn(station_id=sid, station_transaction_id="T", seq_no=0,
                               event_type=TxEventType.STARTED, occurred_at=T0, payload={})
    with pytest.raises(RuntimeError):
        await store.record(event, boom)
    assert await store.find(sid, "T") is None
    assert await store.events(sid, "T") == []
