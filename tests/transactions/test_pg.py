"""On PostgreSQL: billing exactly once (duplicates, concurrency), receivables, tariffs, queries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import TxStatus
from sigec_actors.ports import DbPool
from sigec_actors.transactions.billing import SOURCE_TYPE, BillingService, SettlementKind
from sigec_actors.transactions.errors import TransactionStoreUnavailable
from sigec_actors.transactions.ports import TxFilter
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, event, session
from tests.transactions.conftest import new_station, new_user, pg_world

pytestmark = pytest.mark.pg


async def test_duplicate_and_concurrent_ended_bill_exactly_once(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool), await new_user(pool)
    await w.tokens.add(user, "CARD-PG1", IdTokenType.ISO14443)
    await w.fund(user, 5_000)
    reqs = session(token="CARD-PG1", kwh=10)
    for r in reqs[:-1]:
        await w.service.handle_event(station, r, T0)
    # ten nodes answer the same Ended at once (a retried CALL during a reconnect)
    services = [pg_world(pool).service for _ in range(10)]
    answers = await asyncio.gather(*(s.handle_event(station, reqs[-1], T0) for s in services))
    assert len({a.total_cost for a in answers}) == 1 and answers[0].total_cost == 16.0
    # ... then again, and a second Ended with another seqNo
    await w.service.handle_event(station, reqs[-1], T0)
    await w.service.handle_event(station, event(E.ENDED, 99, T0 + timedelta(hours=9),
                                                wh=50_000), T0)
    async with pool.acquire() as conn:
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = $1 AND source_id = $2",
            SOURCE_TYPE, f"{station}/tx-1")
        drift = await conn.fetchval("SELECT count(*) FROM ledger_balance_drift")
    assert entries == 1 and drift == 0
    assert await w.balances(user) == (3_400, 0)
    created = [s.last_settlement.created for s in services if s.last_settlement]
    assert created.count(True) == 1


async def test_concurrent_events_of_one_transaction_end_like_the_clean_stream(
        pool: DbPool) -> None:
    station, user = await new_station(pool), await new_user(pool)
    w = pg_world(pool, attempts=50)
    await w.tokens.add(user, "CARD-PG2", IdTokenType.ISO14443)
    reqs = session(tx="tx-c", token="CARD-PG2", kwh=7, updates=6, idle_min=9)
    services = [pg_world(pool, attempts=50).service for _ in reqs]
    await asyncio.gather(*(s.handle_event(station, r, T0) for s, r in
                           zip(services, reversed(reqs), strict=True)))
    tx = await w.store.find(station, "tx-c")
    clean_station = await new_station(pool)
    for r in reqs:
        await w.service.handle_event(clean_station, r, T0)
    clean = await w.store.find(clean_station, "tx-c")
    assert tx is not None and clean is not None
    for f in ("status", "energy_wh", "cost_centavos", "started_at", "ended_at", "seq_gap",
              "last_seq_no", "meter_start_wh", "meter_stop_wh", "user_id"):
        assert getattr(tx, f) == getattr(clean, f), f
    assert len(await w.store.events(station, "tx-c")) == len(reqs)


async def test_short_wallet_books_a_receivable(pool: DbPool) -> None:
    w = pg_world(pool, Tariff(price_per_kwh_centavos=100))
    station, user = await new_station(pool), await new_user(pool)
    await w.tokens.add(user, "CARD-PG3", IdTokenType.ISO14443)
    await w.fund(user, 250)
    for r in session(token="CARD-PG3", kwh=10):
        await w.service.handle_event(station, r, T0)
    assert await w.balances(user) == (0, -750)
    settled = w.service.last_settlement
    assert settled is not None and settled.kind is SettlementKind.POSTED
    assert (settled.wallet_centavos, settled.receivable_centavos) == (250, 750)
    replay = await w.billing.settle(await w.store.find(station, "tx-1"))  # type: ignore[arg-type]
    assert (replay.created, replay.wallet_centavos, replay.receivable_centavos) == (
        False, 250, 750)


async def test_station_tariff_is_used_and_unbilled_sweep(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool), await new_user(pool)
    tariff = await w.tariffs.add(Tariff(charge_point_id=station, price_per_kwh_centavos=300,
                                        valid_from=T0 - timedelta(days=1)))
    assert tariff.id is not None and await w.tariffs.get(tariff.id) == tariff
    await w.tokens.add(user, "CARD-PG4", IdTokenType.ISO14443)
    reqs = session(token="CARD-PG4", kwh=2)
    for r in reqs[:-1]:
        await w.service.handle_event(station, r, T0)
    # the Ended commits, then the ledger connection drops before the posting
    cut = pg_world(pool, billing=BillingService(_PostFails(w.ledger)))  # type: ignore[arg-type]
    with pytest.raises(TransactionStoreUnavailable):
        await cut.service.handle_event(station, reqs[-1], T0)
    tx = await w.store.find(station, "tx-1")
    assert tx is not None and tx.status is TxStatus.ENDED and tx.tariff_id == tariff.id
    assert [t.id for t in await w.queries.unbilled(SOURCE_TYPE)] == [tx.id]
    settled = await w.billing.settle_unbilled(w.queries)
    assert [s.kind for s in settled] == [SettlementKind.POSTED]
    assert await w.queries.unbilled(SOURCE_TYPE) == []
    assert await w.balances(user) == (0, -600)
    # the station's retry of the Ended is a duplicate: same answer, no second posting
    await w.service.handle_event(station, reqs[-1], T0)
    assert w.service.last_settlement is not None
    assert not w.service.last_settlement.created


class _PostFails:
    def __init__(self, inner: PgLedgerRepository) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def post(self, *_: Any, **__: Any) -> Any:
        raise ConnectionResetError(104, "Connection reset by peer")


async def test_queries_filter_page_and_count(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool), await new_user(pool)
    await w.tokens.add(user, "CARD-PG5", IdTokenType.ISO14443)
    for i in range(3):
        for r in session(tx=f"q-{i}", token="CARD-PG5")[: 2 if i == 2 else None]:
            shifted = r.__class__(**{**{f: getattr(r, f) for f in r.__struct_fields__},
                                     "timestamp": r.timestamp + timedelta(days=i)})
            await w.service.handle_event(station, shifted, T0)
    mine = TxFilter(user_id=user)
    assert await w.queries.count(mine) == 3
    page = await w.queries.page(mine, limit=2)
    assert [t.station_transaction_id for t in page] == ["q-2", "q-1"]
    assert [t.station_transaction_id for t in await w.queries.page(mine, limit=2, offset=2)] == [
        "q-0"]
    active = TxFilter(user_id=user, status=TxStatus.ACTIVE)
    assert [t.station_transaction_id for t in await w.queries.page(active)] == ["q-2"]
    window = TxFilter(user_id=user, since=T0 + timedelta(hours=12), until=T0 + timedelta(days=2))
    assert [t.station_transaction_id for t in await w.queries.page(window)] == ["q-1"]
    found = await w.queries.active_with_token("CARD-PG5", "ISO14443", since=T0 - timedelta(1))
    assert [t.station_transaction_id for t in found] == ["q-2"]
