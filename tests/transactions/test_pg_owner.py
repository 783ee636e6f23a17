"""Issue #14 items 8-10 on PostgreSQL: remote starts shared by nodes, owners and late events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import RemoteStart
from sigec_actors.ports import DbPool
from sigec_actors.transactions.billing import SOURCE_TYPE
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, event, session
from tests.transactions.conftest import PgWorld, new_station, new_user, pg_world
from tests.transactions.test_owner_and_late import ended_then_late, remote
from tests.transactions.test_stateful import posted

pytestmark = pytest.mark.pg
TARIFF = Tariff(price_per_kwh_centavos=20)


async def _posted(w: PgWorld, station: str, tx: str) -> int | None:
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"{station}/{tx}")
    return None if entry is None else posted(entry)


async def test_a_remote_start_asked_on_one_node_links_the_started_on_another(
        pool: DbPool) -> None:
    station, user = await new_station(pool), await new_user(pool)
    a, b = pg_world(pool, TARIFF), pg_world(pool, TARIFF)
    await a.tokens.add(user, "app-pg-1", IdTokenType.CENTRAL)
    await a.fund(user, 1_000)
    start = RemoteStart(station_id=station, remote_start_id=4242, id_token="app-pg-1",
                        id_token_type="Central", user_id=user)
    assert await a.store.remember_remote_start(start)
    assert not await b.store.remember_remote_start(start)  # the id is the station's now
    for req in session(token=None, kwh=2):  # the station's events carry no idToken
        await b.service.handle_event(station, remote(req, 4242), T0)
    tx = await a.store.find(station, "tx-1")
    assert tx is not None and (tx.user_id, tx.id_token) == (user, "app-pg-1")
    assert tx.cost_centavos == 40 == await _posted(a, station, "tx-1")
    assert await a.balances(user) == (960, 0)
    await a.service.handle_event(station, remote(event(E.STARTED, 0, T0, tx="tx-2"), 4242), T0)
    other = await a.store.find(station, "tx-2")  # claimed once: another session is nobody's
    assert other is not None and other.user_id is None
    with pytest.raises(UnknownStation):
        await a.store.remember_remote_start(RemoteStart(
            station_id="CP-nowhere", remote_start_id=1, id_token="x", id_token_type="Central"))


async def test_late_events_and_another_token_change_neither_bill_nor_owner(
        pool: DbPool) -> None:
    station, ana, bob = await new_station(pool), await new_user(pool), await new_user(pool)
    a, b = pg_world(pool, TARIFF), pg_world(pool, TARIFF)
    await a.tokens.add(ana, "CARD-PGA", IdTokenType.ISO14443)
    await a.tokens.add(bob, "CARD-PGB", IdTokenType.ISO14443)
    reqs = [r if r.id_token is None else event(E.STARTED, 0, T0, wh=0, token="CARD-PGA")
            for r in ended_then_late()]
    for node, req in zip((a, b, a), reqs[:3], strict=True):
        await node.service.handle_event(station, req, T0)
    # the late Updated, and a second Started with Bob's card, each on the other node
    await b.service.handle_event(station, reqs[3], T0)
    await a.service.handle_event(station, event(
        E.STARTED, 4, T0 + timedelta(hours=1), wh=5_000, token="CARD-PGB"), T0)
    tx = await b.store.find(station, "tx-1")
    assert tx is not None and (tx.user_id, tx.id_token) == (ana, "CARD-PGA")
    assert (tx.cost_centavos, tx.energy_wh) == (28, 1_400)
    assert await _posted(a, station, "tx-1") == 28
    assert len(await a.store.events(station, "tx-1")) == 5
