"""On PostgreSQL: events of many transactions committed together (group commit) still succeed
or fail one by one, and each caller gets its own answer only after the commit."""

from __future__ import annotations

import asyncio

import pytest

from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.transactions import Decide, Transaction, TransactionEventIn, TxDecision
from sigec_actors.ports import DbPool
from sigec_actors.transactions.decide import DecideContext, decide
from sigec_actors.transactions.errors import StaleHistory
from sigec_actors.transactions.facts import event_in, facts_of
from sigec_actors.transactions.tariffs import default_tariff
from tests.transactions.builders import T0, E, event
from tests.transactions.conftest import new_station

pytestmark = pytest.mark.pg


def _decider(station: str, tx: str, seq: int) -> tuple[TransactionEventIn, Decide]:
    req = event(E.STARTED, seq, T0, tx=tx, wh=1000)
    ctx = DecideContext(station_id=station, station_transaction_id=tx, tariff=default_tariff())
    facts = facts_of(req)

    def run(current: Transaction | None) -> TxDecision:
        return decide(current, [], facts, ctx)
    return event_in(station, req), run


def _stale(current: Transaction | None) -> TxDecision:
    raise StaleHistory("x", "y")


async def test_a_failing_event_fails_alone_in_a_shared_commit(pool: DbPool) -> None:
    station = await new_station(pool)
    store = PgTransactionEventStore(pool, max_batch=64)
    good = [_decider(station, f"g-{i}", 0) for i in range(12)]
    unknown = _decider("NO-SUCH-STATION", "g-x", 0)
    stale_event, _ = _decider(station, "g-stale", 0)
    calls = [store.record(e, d) for e, d in good]
    calls.insert(5, store.record(*unknown))
    calls.insert(9, store.record(stale_event, _stale))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[5], UnknownStation)
    assert isinstance(results[9], StaleHistory)
    committed = [r for i, r in enumerate(results) if i not in (5, 9)]
    assert all(not isinstance(r, BaseException) and not r.duplicate for r in committed)
    async with pool.acquire() as conn:
        rows = await conn.fetchval(
            "SELECT count(*) FROM transaction_events WHERE charge_point_id = $1", station)
    assert rows == 12  # the stale one wrote nothing; the unknown station's event failed alone
    again = await asyncio.gather(*(store.record(e, d) for e, d in good))
    assert all(r.duplicate for r in again)
