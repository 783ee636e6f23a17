"""PgJobStore on PostgreSQL: compare-and-set under the lease, claims after a node's lease ran
out (and not before), a cancel that an actor elsewhere then cannot overwrite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from msgspec.structs import replace

from sigec_actors.adapters.pg_firmware import PgJobStore
from sigec_actors.firmware.state import HistoryEntry, JobState, JobStatus
from sigec_actors.ports import DbPool

NOW = datetime.now(UTC).replace(microsecond=0)


async def _station(pool: DbPool) -> str:
    station_id = f"FWS-{uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", station_id)
    return station_id


async def _job(pool: DbPool, store: PgJobStore, owner: str, lease_s: float = 60) -> JobState:
    state = JobState(job_id=uuid4(), station_id=await _station(pool),
                     request_id=await store.next_request_id(), location="https://fw/a-2.0.bin",
                     version="2.0", retrieve_at=NOW, created_at=NOW)
    await store.create(state, owner, NOW + timedelta(seconds=lease_s))
    return state


async def test_a_step_is_stored_only_by_the_lease_owner_from_the_expected_status(
        pg_pool: DbPool) -> None:
    store = PgJobStore(pg_pool)
    state = await _job(pg_pool, store, "node-1")
    step = replace(state, status=JobStatus.DOWNLOADING, attempts=1,
                   history=(HistoryEntry("Downloading", NOW, out_of_order=True),))
    assert not await store.save(JobStatus.REQUESTED, step, "node-2")  # not its lease
    assert await store.save(JobStatus.REQUESTED, step, "node-1")
    assert not await store.save(JobStatus.REQUESTED, step, "node-1")  # moved on already
    assert await store.load(state.job_id) == step
    assert (await store.latest_for_station(state.station_id)) == step


async def test_a_node_takes_over_jobs_only_after_their_lease_ran_out(pg_pool: DbPool) -> None:
    store = PgJobStore(pg_pool)
    held = await _job(pg_pool, store, "node-a", lease_s=60)
    expired = await _job(pg_pool, store, "node-b", lease_s=-1)
    claimed = {s.job_id for s in await store.claim("node-c", NOW, NOW + timedelta(seconds=60), 100)}
    assert expired.job_id in claimed and held.job_id not in claimed
    assert not await store.save(JobStatus.REQUESTED, expired, "node-b")  # b lost it
    own = {s.job_id for s in await store.claim("node-a", NOW, NOW + timedelta(seconds=60), 100)}
    assert held.job_id in own  # a restarted node-a renews (and resumes) its own


async def test_a_cancel_wins_over_the_actor_that_still_holds_the_lease(pg_pool: DbPool) -> None:
    store = PgJobStore(pg_pool)
    state = await _job(pg_pool, store, "node-1")
    cancelled = replace(state, status=JobStatus.CANCELLED, completed_at=NOW)
    assert await store.cancel(state.job_id, cancelled, [])
    assert not await store.cancel(state.job_id, cancelled, [])  # already finished
    moved = replace(state, status=JobStatus.ACCEPTED)
    assert not await store.save(JobStatus.REQUESTED, moved, "node-1")
    loaded = await store.load(state.job_id)
    assert loaded is not None and loaded.status is JobStatus.CANCELLED
