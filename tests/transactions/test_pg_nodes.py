"""On PostgreSQL, TransactionService instances as nodes sharing one database: stale caches,
a retried Started on a node that never saw it, and the tariff a session keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sigec_actors.domain.records import IdTokenType
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as A
from sigec_actors.ports import DbPool
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, session
from tests.transactions.conftest import new_station, new_user, pg_world

pytestmark = pytest.mark.pg


async def _subjects(pool: DbPool, station: str, tx: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT subject FROM event_outbox WHERE payload->>'stationId' = $1"
            " AND payload->>'transactionId' = $2 ORDER BY seq", station, tx)
    return [r["subject"] for r in rows]


async def test_nodes_taking_turns_on_one_transaction_end_like_the_clean_stream(
        pool: DbPool) -> None:
    station, user = await new_station(pool), await new_user(pool)
    a, b, clean = pg_world(pool), pg_world(pool), pg_world(pool)
    await a.tokens.add(user, "CARD-N1", IdTokenType.ISO14443)
    reqs = session(tx="turns", token="CARD-N1", kwh=4, updates=3)
    for node, req in zip((a, a, b, a, b), reqs, strict=True):  # a's cache is stale at seqNo 3
        await node.service.handle_event(station, req, T0)
    other = await new_station(pool)
    for req in reqs:
        await clean.service.handle_event(other, req, T0)
    got, want = await a.store.find(station, "turns"), await a.store.find(other, "turns")
    assert got is not None and want is not None
    fields = ("status", "energy_wh", "cost_centavos", "last_seq_no", "seq_gap", "user_id")
    assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields]
    assert [e.seq_no for e in await a.store.events(station, "turns")] == [0, 1, 2, 3, 4]
    assert await _subjects(pool, station, "turns") == await _subjects(pool, other, "turns")


async def test_a_started_retried_on_a_node_that_never_saw_it_gets_the_first_answer(
        pool: DbPool) -> None:
    station, user = await new_station(pool), await new_user(pool)
    first, cold = pg_world(pool), pg_world(pool)
    await first.tokens.add(user, "CARD-N2", IdTokenType.ISO14443)
    await first.fund(user, 1_000)
    started = session(tx="retry", token="CARD-N2")[0]
    answer = await first.service.handle_event(station, started, T0)
    assert answer.id_token_info is not None and answer.id_token_info.status is A.ACCEPTED
    again = await cold.service.handle_event(station, started, T0 + timedelta(minutes=1))
    assert again == answer
    assert len(await first.store.events(station, "retry")) == 1
    assert await _subjects(pool, station, "retry") == ["transaction.started"]


async def test_a_session_keeps_its_tariff_and_the_next_one_takes_a_new_tariff(
        pool: DbPool) -> None:
    station, user = await new_station(pool), await new_user(pool)
    w = pg_world(pool, tariff=Tariff(price_per_kwh_centavos=100))
    await w.tokens.add(user, "CARD-N3", IdTokenType.ISO14443)
    running = session(tx="kept", token="CARD-N3", kwh=2)
    await w.service.handle_event(station, running[0], T0)
    await w.tariffs.add(Tariff(charge_point_id=station, price_per_kwh_centavos=900,
                               valid_from=T0 - timedelta(days=1)))
    for req in running[1:]:
        await w.service.handle_event(station, req, T0)
    kept = await w.store.find(station, "kept")
    assert kept is not None and kept.tariff_id is None and kept.cost_centavos == 200
    station_tariff = (await w.tariffs.candidates(station))[-1]
    following = session(tx="next", token="CARD-N3", kwh=2)
    for req in following[:2]:
        await w.service.handle_event(station, req, T0)
    await w.tariffs.add(Tariff(charge_point_id=station, price_per_kwh_centavos=500,
                               valid_from=T0 - timedelta(hours=1)))
    restarted = pg_world(pool, tariff=Tariff(price_per_kwh_centavos=100))  # nothing cached
    for req in following[2:]:
        await restarted.service.handle_event(station, req, T0)
    later = await w.store.find(station, "next")
    assert later is not None and later.tariff_id == station_tariff.id
    assert later.cost_centavos == 1_800
