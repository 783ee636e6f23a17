"""The V2G sweep on real PostgreSQL: stuck starts fail, orphaned offline sessions end and pay once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated import v201
from sigec_actors.runtime import ActorSystem
from sigec_actors.v2g_session.actor import V2GDeps
from sigec_actors.v2g_session.effects import Finish, Persist, Settle
from sigec_actors.v2g_session.errors import StartTimedOut
from sigec_actors.v2g_session.messages import Abandoned, MeterSample, ProfileAnswered
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.service import DischargeService, StartRequest
from sigec_actors.v2g_session.sessions import V2GSessions
from sigec_actors.v2g_session.state import SessionPolicy, Status, V2GState, decide
from sigec_actors.v2g_session.sweep import PgSweepQueries, SessionSweep, SweepCounts
from tests.v2g_session.conftest import H20, H21, Clears, World, tx_event

pytestmark = pytest.mark.pg
NET = 88  # 2,400 Wh over 20:50-21:10 (see test_pg_sessions): 98 gross, 10 margin
SAMPLES = [MeterSample(H20 + timedelta(minutes=50), 0), MeterSample(H21 + timedelta(minutes=10),
                                                                     2_400)]


def now() -> datetime:
    return datetime.now(UTC)


def sweep(world: World, running: frozenset[UUID] = frozenset()) -> SessionSweep:
    return SessionSweep(PgSweepQueries(world.pool, SessionPolicy(300)), world.store,
                        world.settlement(), start_timeout_s=60, offline_grace_s=300, clock=now,
                        running_here=lambda sid: sid in running)


async def starting(world: World, age_s: float) -> V2GState:
    state = world.session()
    await world.store.create(state)
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE v2g_sessions SET created_at = now() - $2 * interval '1 second'"
                           " WHERE id = $1", state.session_id, age_s)
    return state


async def orphan(world: World, *, offline_for_s: float) -> V2GState:
    """An active session with stored samples whose station went offline `offline_for_s` ago
    and whose node went away (no actor runs it)."""
    state = world.session()
    await world.store.create(state)
    active, _ = decide(state, ProfileAnswered(True), H20)
    assert await world.store.save(Status.STARTING, active, SAMPLES)
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE charge_points SET online = false,"
                           " last_seen = now() - $2 * interval '1 second' WHERE id = $1",
                           world.station, offline_for_s)
    return active


async def outbox(world: World, subject: str, session_id: UUID) -> int:
    async with world.pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT count(*) FROM event_outbox WHERE subject = $1"
                                     " AND payload->>'sessionId' = $2", subject, str(session_id))
    return n


def test_abandoned_fails_a_start_and_completes_a_live_session() -> None:
    base = V2GState(session_id=UUID(int=1), user_id=UUID(int=2), station_id="CP-1", evse_id=1,
                    transaction_id=None, station_transaction_id="tx", mode="v201_negative_limit",
                    profile_id=1, max_discharge_w=7000, min_soc=20)
    failed, effects = decide(base, Abandoned("start_timeout"), H21)
    assert (failed.status, failed.stop_reason, failed.ended_at) == (
        Status.FAILED, "start_timeout", H21)
    assert isinstance(effects[0], Persist) and isinstance(effects[-1], Finish)
    assert not any(isinstance(e, Settle) for e in effects)
    active, _ = decide(base, ProfileAnswered(True), H20)
    done, effects = decide(active, Abandoned("station_offline"), H21)
    assert (done.status, done.stop_reason) == (Status.COMPLETED, "station_offline")
    assert [type(e) for e in effects] == [Persist, Settle, Finish]
    assert decide(done, Abandoned("station_offline"), H21) == (done, [])


async def test_a_stuck_start_fails_after_the_timeout_and_frees_the_evse(world: World) -> None:
    stuck = await starting(world, age_s=120)
    assert await sweep(world).run_once() == SweepCounts(start_timeouts=1)
    failed = await world.store.load(stuck.session_id)
    assert failed is not None and failed.status is Status.FAILED
    assert failed.stop_reason == "start_timeout" and failed.ended_at is not None
    assert await outbox(world, "v2g.session.completed", stuck.session_id) == 1
    young = await starting(world, age_s=5)  # the EVSE is free again; a young start is left be
    assert await sweep(world).run_once() == SweepCounts()
    assert (await world.store.load(young.session_id)).status is Status.STARTING  # type: ignore[union-attr]


async def test_an_orphaned_offline_session_ends_and_is_paid_once(world: World) -> None:
    state = await orphan(world, offline_for_s=600)
    assert await sweep(world, running=frozenset({state.session_id})).run_once() == SweepCounts()
    assert await sweep(world).run_once() == SweepCounts(offline_ended=1, settled=0)
    done = await world.store.load(state.session_id)
    assert done is not None and done.status is Status.COMPLETED
    assert done.stop_reason == "station_offline"
    row = await world.rows.get(state.session_id)
    assert row is not None and (row.status, row.net_amount_centavos) == ("paid", NET)
    assert await world.wallet() == NET
    assert await sweep(world).run_once() == SweepCounts()  # nothing left, paid once


async def test_a_station_offline_within_the_grace_keeps_its_session(world: World) -> None:
    state = await orphan(world, offline_for_s=60)
    assert await sweep(world).run_once() == SweepCounts()
    assert (await world.store.load(state.session_id)).status is Status.ACTIVE  # type: ignore[union-attr]


async def test_two_concurrent_sweeps_end_each_session_once(world: World) -> None:
    other = World(world.pool, world.user, *await _second_station(world), world.store,
                  world.rows, world.ledger, world.prices)
    stuck = await starting(world, age_s=120)
    lost = await orphan(other, offline_for_s=600)
    counts = await asyncio.gather(*(sweep(world).run_once() for _ in range(4)))
    assert sum(c.start_timeouts for c in counts) == 1
    assert sum(c.offline_ended for c in counts) == 1
    assert await outbox(world, "v2g.session.completed", stuck.session_id) == 1
    assert await outbox(world, "v2g.session.completed", lost.session_id) == 1
    assert await outbox(world, "v2g.compensation.paid", lost.session_id) == 1
    async with world.pool.acquire() as conn:
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = 'v2g_compensation'"
            " AND source_id = $1", str(lost.session_id))
    assert entries == 1 and await world.wallet() == NET


async def test_a_completed_session_left_unpaid_is_settled(world: World) -> None:
    state = await orphan(world, offline_for_s=0)
    done, _ = decide(state, Abandoned("station_offline"), now() - timedelta(minutes=5))
    assert await world.store.save(Status.ACTIVE, done)  # its node died before settling
    assert await sweep(world).run_once() == SweepCounts(settled=1)
    assert await world.wallet() == NET
    assert await sweep(world).run_once() == SweepCounts()


class SlowStation:
    """A station (its command channel) that answers the profile only after the sweep ran."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.sent: list[str] = []

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        self.sent.append(type(request).__name__)
        if isinstance(request, v201.ClearChargingProfileRequest):
            return v201.ClearChargingProfileResponse(
                status=v201.ClearChargingProfileStatusEnum.ACCEPTED)
        async with self.world.pool.acquire() as conn:  # the start took longer than the timeout
            await conn.execute("UPDATE v2g_sessions SET created_at = created_at - interval"
                               " '2 minutes' WHERE charge_point_id = $1", station_id)
        assert (await sweep(self.world).run_once()).start_timeouts == 1
        return v201.SetChargingProfileResponse(status=v201.ChargingProfileStatusEnum.ACCEPTED)


async def test_a_profile_accepted_after_the_timeout_is_cleared_again(world: World) -> None:
    station = SlowStation(world)
    ran: list[V2GState] = []

    async def run(state: V2GState, caller: object) -> None:
        ran.append(state)

    async def stop(session_id: UUID, reason: str, caller: object) -> None:
        return None

    service = DischargeService(world.store, PgV2GQueries(world.pool), station, clock=now,
                               policy=SessionPolicy(), run=run, stop=stop)
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE charge_points SET online = true WHERE id = $1", world.station)
    with pytest.raises(StartTimedOut) as info:
        await service.start(StartRequest(user_id=world.user, station_id=world.station,
                                         evse_id=1, min_soc=20))
    assert station.sent == ["SetChargingProfileRequest", "ClearChargingProfileRequest"]
    assert ran == [] and info.value.reason == "start_timeout"
    failed = await world.store.load(UUID(info.value.session_id))
    assert failed is not None and failed.status is Status.FAILED


async def test_an_actor_whose_session_the_sweep_ended_stops(world: World) -> None:
    state = await orphan(world, offline_for_s=600)
    system = ActorSystem(name="node-s")
    tree = await NodeTree.start(system)
    sessions = V2GSessions(tree.v2g, V2GDeps(world.store, world.settlement(), Clears()))
    await sessions.run(state)
    assert sessions.ref(state.session_id) is not None
    assert (await sweep(world).run_once()).offline_ended == 1  # e.g. from another node
    sessions.transaction_event(world.station, tx_event(world.tx_id, 5, [
        (H21 + timedelta(minutes=20), 3_000, 60)]))  # its write is refused: it reloads
    for _ in range(200):
        if sessions.ref(state.session_id) is None:
            break
        await asyncio.sleep(0.02)
    alive = sessions.ref(state.session_id) is not None
    await system.shutdown()
    assert not alive
    assert await world.wallet() == NET  # paid once, by the sweep


async def _second_station(world: World) -> tuple[str, str, UUID]:
    from tests.transactions.conftest import new_station

    station = await new_station(world.pool, evses=1)
    tx_id = f"tx-{station}"
    async with world.pool.acquire() as conn:
        tx_uuid = await conn.fetchval(
            "INSERT INTO transactions (charge_point_id, station_transaction_id, evse_id,"
            " user_id, status, started_at) VALUES ($1, $2, 1, $3, 'Active', $4) RETURNING id",
            station, tx_id, world.user, H20)
    return station, tx_id, tx_uuid
