"""On PostgreSQL: the optimistic write (one statement per batch, each event guarded by its row's
version), the row version itself, and the connections kept between batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_lease import ConnectionLease
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore, begin_and_lock
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import (
    Transaction,
    TransactionEventIn,
    TxDecision,
    TxEventType,
)
from sigec_actors.ports import DbPool
from sigec_actors.transactions.decide import DecideContext, decide
from sigec_actors.transactions.errors import StaleHistory
from sigec_actors.transactions.facts import event_in, facts_of
from sigec_actors.transactions.tariffs import default_tariff
from tests.transactions.builders import T0, E, event
from tests.transactions.conftest import new_station

pytestmark = pytest.mark.pg


def _new(station: str, tx: str, seq: int = 0, current: Transaction | None = None,
         wh: int = 1000) -> tuple[TransactionEventIn, TxDecision]:
    kind = E.STARTED if seq == 0 else E.UPDATED
    req = event(kind, seq, T0 + timedelta(minutes=seq), tx=tx, wh=wh + 100 * seq)
    ctx = DecideContext(station_id=station, station_transaction_id=tx,
                        tariff=default_tariff(100))
    history = [] if seq == 0 else [facts_of(event(E.STARTED, 0, T0, tx=tx, wh=wh))]
    return event_in(station, req), decide(current, history, facts_of(req), ctx)


async def _count(pool: DbPool, table: str, station: str) -> int:
    column = "payload->>'stationId'" if table == "event_outbox" else "charge_point_id"
    async with pool.acquire() as conn:
        n: int = await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = $1", station)
    return n


async def test_one_statement_writes_the_batch_and_a_moved_row_refuses_only_its_event(
        pool: DbPool) -> None:
    station = await new_station(pool)
    store = PgTransactionEventStore(pool)
    e0, d0 = _new(station, "moved")
    v0 = (await store.write(e0, None, d0)).transaction
    e1, d1 = _new(station, "moved", 1, v0)
    v1 = (await store.write(e1, v0, d1)).transaction
    assert v0 is not None and v1 is not None
    assert v1.updated_at > v0.updated_at and v1.last_seq_no == 1
    exists_event, exists_decision = _new(station, "moved", 0)
    late_event, late_decision = _new(station, "moved", 2, v0)  # decided on the old row
    news = [_new(station, f"n-{i}") for i in range(6)]
    calls = [store.write(e, None, d) for e, d in news]
    calls.insert(2, store.write(late_event, v0, late_decision))
    calls.insert(4, store.write(exists_event, None, exists_decision))  # "new", but it exists
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[2], StaleHistory) and isinstance(results[4], StaleHistory)
    written = [r for i, r in enumerate(results) if i not in (2, 4)]
    assert all(not isinstance(r, BaseException) and not r.duplicate for r in written)
    async with pool.acquire() as conn:
        commits = await conn.fetch(
            "SELECT DISTINCT xmin::text FROM transaction_events WHERE charge_point_id = $1"
            " AND station_transaction_id LIKE 'n-%'", station)
        moved = await conn.fetchval(
            "SELECT last_seq_no FROM transactions WHERE charge_point_id = $1"
            " AND station_transaction_id = 'moved'", station)
    assert len(commits) == 1  # the six new transactions: one statement, one commit
    assert moved == 1  # the refused events changed nothing
    assert await _count(pool, "transaction_events", station) == 8
    assert await _count(pool, "meter_values", station) == 8
    assert await _count(pool, "event_outbox", station) == 8


async def test_a_failing_event_fails_alone_and_the_rest_still_commit(pool: DbPool) -> None:
    station = await new_station(pool)
    store = PgTransactionEventStore(pool)
    news = [_new(station, f"g-{i}") for i in range(5)]
    calls = [store.write(e, None, d) for e, d in news]
    unknown, decision = _new("NO-SUCH-STATION", "g-x")
    calls.insert(3, store.write(unknown, None, decision))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[3], UnknownStation)
    assert sum(not isinstance(r, BaseException) for r in results) == 5
    assert await _count(pool, "transaction_events", station) == 5
    again = await asyncio.gather(*(store.stored(e) for e, _ in news))
    assert all(r.duplicate and r.response == d.response for r, (_, d) in zip(again, news,
                                                                             strict=True))
    with pytest.raises(StaleHistory):  # not stored: the caller must read again
        await store.stored(_new(station, "never")[0])


async def test_updated_at_strictly_increases_even_within_one_transaction(pool: DbPool) -> None:
    station = await new_station(pool)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO transactions (charge_point_id, station_transaction_id)"
                           " VALUES ($1, 'v')", station)
        stamps = [await conn.fetchval(
            "UPDATE transactions SET energy_wh = energy_wh + 1 WHERE charge_point_id = $1"
            " RETURNING updated_at", station) for _ in range(3)]
    assert stamps[0] < stamps[1] < stamps[2]


def test_lock_statement_orders_keys_and_quotes_nothing() -> None:
    a = TransactionEventIn(station_id="S'; DROP TABLE x; --", station_transaction_id="t",
                           seq_no=0, event_type=TxEventType.STARTED, occurred_at=T0, payload={})
    sql = begin_and_lock([a, a])
    assert "DROP" not in sql and sql.count(",") == 0  # one key, digits only
    keys = [int(k) for k in sql.split("ARRAY[")[1].split("]")[0].split(",")]
    assert keys == sorted(keys)


async def test_lease_keeps_a_clean_connection_and_gives_it_back_when_idle(
        pool: DbPool) -> None:
    lease = ConnectionLease(pool, size=1, idle_s=0.05)
    async with lease.acquire() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
    assert lease.held == 1
    async with lease.acquire() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # no reset, no re-acquire
        await conn.execute("SET application_name = 'kept'")
    with pytest.raises(ZeroDivisionError):
        async with lease.acquire() as conn:
            raise ZeroDivisionError
    assert lease.held == 0  # a failure hands it to the pool (which resets it)
    async with lease.acquire() as conn:
        await conn.execute("BEGIN")
    assert lease.held == 0  # left inside a transaction: the pool rolls it back
    async with lease.acquire() as conn:
        pass
    assert lease.held == 1
    await asyncio.sleep(0.2)
    assert lease.held == 0
    await lease.aclose()


async def test_lease_larger_than_its_pool_hands_connections_back_to_waiters(
        migrated_pg_dsn: str) -> None:
    pool = await create_pool(migrated_pg_dsn, min_size=1, max_size=2)
    lease = ConnectionLease(pool, size=3, idle_s=60)  # the sweeper never helps here
    go, got = asyncio.Event(), asyncio.Event()
    holding = [asyncio.Event(), asyncio.Event()]

    async def hold(acquired: asyncio.Event, until: asyncio.Event | None) -> None:
        async with lease.acquire() as conn:
            await conn.fetchval("SELECT 1")
            acquired.set()
            if until is not None:
                await until.wait()

    holders = [asyncio.create_task(hold(h, go)) for h in holding]
    await asyncio.gather(*(h.wait() for h in holding))  # the pool's two connections
    third = asyncio.create_task(hold(got, None))
    await asyncio.sleep(0.05)
    assert not got.is_set()  # it waits for the pool
    go.set()
    await asyncio.wait_for(got.wait(), timeout=30)  # not after idle_s: handed back at once
    await asyncio.gather(*holders, third)
    await lease.aclose()
    await pool.close()
