"""autoDischarge plans on PostgreSQL: concurrent job runs start each run once; cancellations."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_v2g_plans import PgV2GPlans
from sigec_actors.ports import DbPool
from sigec_actors.v2g.optimize import Window
from sigec_actors.v2g.plan_runner import PlanRunner
from sigec_actors.v2g.plans import PlanStatus, StoredPlan, new_plan
from sigec_actors.v2g_session.errors import DischargeUnsupported, NoTransaction
from sigec_actors.v2g_session.queries import PgV2GQueries, Preferences
from sigec_actors.v2g_session.service import StartRequest
from sigec_actors.v2g_session.state import SessionPolicy, V2GState
from tests.transactions.conftest import new_station, new_user

pytestmark = pytest.mark.pg
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
async def pool(migrated_pg_dsn: str) -> AsyncIterator[DbPool]:
    p = await create_pool(migrated_pg_dsn, min_size=1, max_size=12)
    yield p
    await p.close()


@dataclass
class Starts:
    """The Starter port, recording each start (or failing with `error`)."""

    error: Exception | None = None
    requests: list[StartRequest] = field(default_factory=list)

    async def start(self, req: StartRequest) -> V2GState:
        await asyncio.sleep(0)  # let a concurrent runner interleave here
        if self.error is not None:
            raise self.error
        self.requests.append(req)
        return V2GState(session_id=uuid.uuid4(), user_id=req.user_id,
                        station_id=req.station_id, evse_id=req.evse_id or 1,
                        transaction_id=uuid.uuid4(), station_transaction_id="tx",
                        mode="v201_negative_limit", profile_id=1, max_discharge_w=7000,
                        min_soc=req.min_soc, until=req.until,
                        policy=SessionPolicy(offline_grace_s=300))

    async def stop(self, session_id: uuid.UUID, reason: str = "user") -> V2GState | None:
        return None


async def owner(pool: DbPool, *, auto: bool = True) -> tuple[uuid.UUID, str, uuid.UUID]:
    """A user with autoDischarge `auto` and an active transaction on a new station's EVSE 1."""
    station, user = await new_station(pool, evses=1), await new_user(pool)
    async with pool.acquire() as conn:
        tx = await conn.fetchval(
            "INSERT INTO transactions (charge_point_id, station_transaction_id, evse_id,"
            " user_id, status, started_at) VALUES ($1, $2, 1, $3, 'Active', $4) RETURNING id",
            station, f"tx-{uuid.uuid4().hex[:8]}", user, NOW)
    await PgV2GQueries(pool).set_preferences(user, Preferences(auto_discharge=auto))
    return user, station, tx


def plan_for(user: uuid.UUID, station: str, tx: uuid.UUID, *minutes: tuple[int, int]
             ) -> StoredPlan:
    windows = [Window(start=NOW + timedelta(minutes=a), end=NOW + timedelta(minutes=b),
                      power_w=7000, expected_wh=7000 * (b - a) // 60,
                      price_centavos_per_mwh=50_000) for a, b in minutes]
    return new_plan(uuid.uuid4(), user_id=user, station_id=station, evse_id=1,
                    transaction_id=tx, windows=windows, min_soc=40,
                    departure_at=NOW + timedelta(hours=6), now=NOW - timedelta(minutes=1))


async def test_concurrent_job_runs_start_each_run_once(pool: DbPool) -> None:
    store = PgV2GPlans(pool)
    plans = []
    for _ in range(20):
        user, station, tx = await owner(pool)
        plans.append(await store.create(plan_for(user, station, tx, (0, 60), (120, 150))))
    starts = Starts()
    runners = [PlanRunner(store, lambda _u: starts, clock=lambda: NOW + timedelta(seconds=1))
               for _ in range(4)]
    counts = await asyncio.gather(*(r.run_once() for _ in range(3) for r in runners))
    assert sum(counts) == 20 == len(starts.requests)
    assert sorted(r.station_id for r in starts.requests) == sorted(p.station_id for p in plans)
    assert {r.until for r in starts.requests} == {NOW + timedelta(minutes=60)}
    assert {r.min_soc for r in starts.requests} == {40}
    # the second run, once due, is started once as well, and the plan keeps its sessions
    later = [PlanRunner(store, lambda _u: starts, clock=lambda: NOW + timedelta(minutes=121))
             for _ in range(4)]
    assert sum(await asyncio.gather(*(r.run_once() for r in later))) == 20
    for plan in plans:
        stored = await store.get(plan.id)
        assert stored is not None and stored.status is PlanStatus.STARTED
        assert len(stored.session_ids) == 2 and stored.last_error is None
        assert stored.next_start_at == NOW + timedelta(minutes=150)
    done = PlanRunner(store, lambda _u: starts, clock=lambda: NOW + timedelta(minutes=150))
    assert await done.run_once() == 0
    assert {(await store.get(p.id)).status for p in plans} == {PlanStatus.EXPIRED}  # type: ignore[union-attr]


async def test_ended_transaction_or_autodischarge_off_cancels_the_plan(pool: DbPool) -> None:
    store = PgV2GPlans(pool)
    user, station, tx = await owner(pool)
    ended = await store.create(plan_for(user, station, tx, (60, 120)))
    other_user, other_station, other_tx = await owner(pool)
    off = await store.create(plan_for(other_user, other_station, other_tx, (60, 120)))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE transactions SET status = 'Ended', ended_at = $2"
                           " WHERE id = $1", tx, NOW)
    await PgV2GQueries(pool).set_preferences(other_user, Preferences(auto_discharge=False))
    starts = Starts()
    # not due yet: the sweep cancels them anyway, so GET /plans says so at once
    assert await PlanRunner(store, lambda _u: starts, clock=lambda: NOW).run_once() == 0
    got = [await store.get(ended.id), await store.get(off.id)]
    assert [(p.status, p.cancel_reason, p.next_start_at) for p in got if p] == [
        (PlanStatus.CANCELLED, "transaction_ended", None),
        (PlanStatus.CANCELLED, "auto_discharge_off", None)]
    assert starts.requests == []


async def test_a_refused_start_is_kept_and_a_lost_transaction_cancels(pool: DbPool) -> None:
    store = PgV2GPlans(pool)
    user, station, tx = await owner(pool)
    plan = await store.create(plan_for(user, station, tx, (0, 30), (60, 90)))
    offline = Starts(error=DischargeUnsupported(station, "station is offline"))
    runner = PlanRunner(store, lambda _u: offline, clock=lambda: NOW)
    assert await runner.run_once() == 0
    stored = await store.get(plan.id)
    assert stored is not None and stored.status is PlanStatus.STARTED
    assert "offline" in (stored.last_error or "") and stored.next_run == 1
    gone = Starts(error=NoTransaction(station, 1))
    runner = PlanRunner(store, lambda _u: gone, clock=lambda: NOW + timedelta(minutes=60))
    assert await runner.run_once() == 0
    stored = await store.get(plan.id)
    assert stored is not None
    assert (stored.status, stored.cancel_reason) == (PlanStatus.CANCELLED, "transaction_ended")


async def test_a_new_plan_replaces_the_live_one_and_only_the_owner_cancels(pool: DbPool) -> None:
    store = PgV2GPlans(pool)
    user, station, tx = await owner(pool)
    first = await store.create(plan_for(user, station, tx, (60, 120)))
    second = await store.create(msgspec.structs.replace(
        plan_for(user, station, tx, (180, 240)), created_at=NOW))
    old = await store.get(first.id)
    assert old is not None and (old.status, old.cancel_reason) == (
        PlanStatus.CANCELLED, "replaced")
    assert [p.id for p in await store.for_user(user)] == [second.id, first.id]
    assert await store.cancel(second.id, uuid.uuid4(), "user") is None  # someone else's
    cancelled = await store.cancel(second.id, user, "user")
    assert cancelled is not None and cancelled.status is PlanStatus.CANCELLED
    again = await store.cancel(second.id, user, "user")  # idempotent: as it is
    assert again == cancelled
    assert cancelled.windows == second.windows  # jsonb round trip
