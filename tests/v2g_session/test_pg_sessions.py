"""V2G sessions on real PostgreSQL: storage rules, a node restart mid-session, the payout."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigec_actors.node_tree import NodeTree
from sigec_actors.runtime import ActorSystem
from sigec_actors.v2g_session.actor import V2GDeps
from sigec_actors.v2g_session.errors import SessionAlreadyLive
from sigec_actors.v2g_session.messages import GetView, MeterSample, ProfileAnswered
from sigec_actors.v2g_session.sessions import V2GSessions
from sigec_actors.v2g_session.state import Status, decide
from tests.v2g_session.conftest import H20, H21, Clears, World, tx_event

pytestmark = pytest.mark.pg
NET = 88  # 1200 Wh x 300 R$/MWh + 1200 Wh x 520 R$/MWh = 98.4 -> 98; margin 10 % = 9.8 -> 10


async def active(world: World) -> tuple[Status, object]:
    state = world.session()
    await world.store.create(state)
    new, _ = decide(state, ProfileAnswered(True), H20)
    assert await world.store.save(state.status, new)
    return state.status, new


async def test_stored_session_round_trips_and_one_live_per_evse(world: World) -> None:
    _, state = await active(world)
    loaded = await world.store.load(state.session_id)  # type: ignore[attr-defined]
    assert loaded == state
    with pytest.raises(SessionAlreadyLive):
        await world.store.create(world.session())
    # a writer that read an older status changes nothing
    assert not await world.store.save(Status.STARTING, state)  # type: ignore[arg-type]


async def test_duplicate_samples_are_stored_once(world: World) -> None:
    _, state = await active(world)
    sample = MeterSample(H20 + timedelta(minutes=50), 100, 80, 7000)
    for _ in range(2):
        assert await world.store.save(Status.ACTIVE, state, [sample])  # type: ignore[arg-type]
    assert await world.store.samples(state.session_id) == [(sample.at, 100)]  # type: ignore[attr-defined]


async def _node(world: World, name: str) -> tuple[ActorSystem, V2GSessions, Clears]:
    system = ActorSystem(name=name)
    tree = await NodeTree.start(system)
    clears = Clears()
    sessions = V2GSessions(tree.v2g, V2GDeps(world.store, world.settlement(), clears))
    return system, sessions, clears


async def _view(sessions: V2GSessions, session_id: object) -> object:
    ref = sessions.ref(session_id)  # type: ignore[arg-type]
    assert ref is not None
    return await ref.ask(GetView())


async def test_node_restart_mid_session_resumes_and_pays_once(world: World) -> None:
    _, state = await active(world)
    sid = state.session_id  # type: ignore[attr-defined]
    system, sessions, _ = await _node(world, "node-1")
    await sessions.run(state)  # type: ignore[arg-type]
    assert sessions.ref(sid).path == f"/node-1/v2g/{sid}"  # type: ignore[union-attr]
    sessions.transaction_event(world.station, tx_event(world.tx_id, 2, [
        (H20 + timedelta(minutes=50), 10_000, 80), (H21, 11_200, 75)]))
    view = await _view(sessions, sid)
    assert view.exported_wh == 1_200  # type: ignore[attr-defined]
    await system.shutdown()  # the node goes away mid-session

    system, sessions, _ = await _node(world, "node-1")
    sessions.presence(world.station, True)  # the station reconnects to the restarted node
    for _ in range(100):
        if sessions.ref(sid) is not None:
            break
        await asyncio.sleep(0.02)
    resumed = await _view(sessions, sid)
    assert resumed.exported_wh == 1_200 and resumed.status is Status.ACTIVE  # type: ignore[attr-defined]
    ref = sessions.ref(sid)
    assert ref is not None
    # a repeated event, a late sample, then the rest and the transaction's end
    sessions.transaction_event(world.station, tx_event(world.tx_id, 2, [
        (H20 + timedelta(minutes=50), 10_000, 80), (H21, 11_200, 75)]))
    sessions.transaction_event(world.station, tx_event(world.tx_id, 3, [
        (H21 + timedelta(minutes=10), 12_400, 70)], event_type="Ended"))
    for _ in range(200):
        if sessions.ref(sid) is None:
            break
        await asyncio.sleep(0.02)
    await system.shutdown()
    done = await world.store.load(sid)
    assert done is not None and done.status is Status.COMPLETED
    assert done.stop_reason == "transaction_ended" and done.exported_wh == 2_400
    row = await world.rows.get(sid)
    assert row is not None and row.status == "paid" and row.net_amount_centavos == NET
    assert (row.gross_amount_centavos, row.margin_centavos) == (98, 10)
    assert await world.wallet() == NET


async def test_price_gap_fails_the_compensation_and_alerts(world: World) -> None:
    world.prices.prices.clear()
    _, state = await active(world)
    samples = [MeterSample(H20 + timedelta(minutes=50), 0), MeterSample(H21, 600)]
    await world.store.save(Status.ACTIVE, state, samples)  # type: ignore[arg-type]
    for _ in range(2):  # a retry changes nothing
        outcome = await world.settlement().settle(state)  # type: ignore[arg-type]
        assert outcome.status == "failed"
    async with world.pool.acquire() as conn:
        missing = await conn.fetchval("SELECT missing_hours FROM v2g_compensations"
                                      " WHERE session_id = $1", state.session_id)  # type: ignore[attr-defined]
        alerts = await conn.fetchval("SELECT count(*) FROM alerts WHERE kind = 'v2g.price_gap'"
                                     " AND charge_point_id = $1", world.station)
        events = await conn.fetch("SELECT payload FROM event_outbox WHERE subject ="
                                  " 'v2g.compensation.failed' AND payload->>'sessionId' = $1",
                                  str(state.session_id))  # type: ignore[attr-defined]
    assert missing == [H20.isoformat()] and alerts == 1
    assert [json.loads(e["payload"]) if isinstance(e["payload"], str) else e["payload"]
            for e in events] == [{"sessionId": str(state.session_id),  # type: ignore[attr-defined]
                                  "userId": str(world.user), "chargePointId": world.station,
                                  "reason": "price_gap", "missingHours": [H20.isoformat()]}]
    assert await world.wallet() == 0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(retries=st.integers(2, 6))
async def test_exactly_one_payout_under_concurrent_retries(world: World, retries: int) -> None:
    await _free_evse(world)
    _, state = await active(world)
    samples = [MeterSample(H20 + timedelta(minutes=50), 0), MeterSample(H21 + timedelta(
        minutes=10), 2_400)]
    await world.store.save(Status.ACTIVE, state, samples)  # type: ignore[arg-type]
    before = await world.wallet()
    outcomes = await asyncio.gather(*(world.settlement().settle(state)  # type: ignore[arg-type]
                                      for _ in range(retries)))
    assert {o.status for o in outcomes} == {"paid"}
    assert len({o.journal_entry_id for o in outcomes}) == 1
    assert await world.wallet() - before == NET
    async with world.pool.acquire() as conn:
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = 'v2g_compensation'"
            " AND source_id = $1", str(state.session_id))  # type: ignore[attr-defined]
        paid = await conn.fetchval("SELECT count(*) FROM event_outbox WHERE subject ="
                                   " 'v2g.compensation.paid' AND payload->>'sessionId' = $1",
                                   str(state.session_id))  # type: ignore[attr-defined]
    assert (entries, paid) == (1, 1)


async def _free_evse(world: World) -> None:
    """Hypothesis reuses the fixture: end the previous example's live session first."""
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE v2g_sessions SET status = 'Completed', ended_at = now()"
                           " WHERE charge_point_id = $1 AND status <> 'Completed'", world.station)
