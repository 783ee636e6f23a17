"""The FirmwareJob actor in process (in-memory store, a scripted station): reports routed by
requestId, a database outage that neither loses the row's step nor crash-loops the actor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from sigec_actors.firmware.actor import JobDeps
from sigec_actors.firmware.campaign import Campaign
from sigec_actors.firmware.jobs import FirmwareJobs
from sigec_actors.firmware.messages import UpdateAnswered
from sigec_actors.firmware.state import JobState, JobStatus
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated.v201 import FirmwareStatusEnum as F
from sigec_actors.runtime import ActorSystem
from sigec_actors.testing.firmware import InMemoryJobStore

NOW = datetime.now(UTC)


class Accepting:
    async def update(self, state: JobState) -> UpdateAnswered:
        return UpdateAnswered(status="Accepted")


class NoAlerts:
    async def failed(self, state: JobState, reason: str) -> None: ...
    async def campaign_stopped(self, campaign: Campaign) -> None: ...


class FlakyStore(InMemoryJobStore):
    """Saves fail (connection refused) while `down` is set."""

    down = False

    async def save(self, *args: object, **kw: object) -> bool:
        if self.down:
            raise ConnectionRefusedError("database down")
        return await super().save(*args, **kw)  # type: ignore[arg-type]


@dataclass
class Node:
    jobs: FirmwareJobs
    store: FlakyStore
    system: ActorSystem


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    system = ActorSystem(name="node-1")
    tree = await NodeTree.start(system)
    store = FlakyStore()
    yield Node(FirmwareJobs(tree.firmware, JobDeps(store, Accepting(), NoAlerts(), "node-1",
                                                   tick_s=0.05), 60.0), store, system)
    await system.shutdown()


async def _job(jobs: FirmwareJobs, store: FlakyStore, request_id: int) -> JobState:
    state = JobState(job_id=uuid4(), station_id="CP-1", request_id=request_id,
                     location="https://fw/a-2.0.bin", version="2.0", retrieve_at=NOW,
                     created_at=NOW)
    await jobs.create(state, NOW)
    return state


async def _until(store: FlakyStore, state: JobState, status: JobStatus) -> JobState:
    for _ in range(100):
        row = store.rows[state.job_id]
        if row.status is status:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"{state.job_id} never {status}: {store.rows[state.job_id]}")


async def test_reports_go_to_the_job_with_their_request_id(node: Node) -> None:
    jobs, store = node.jobs, node.store
    first, second = await _job(jobs, store, 7), await _job(jobs, store, 8)
    await _until(store, first, JobStatus.ACCEPTED)
    await _until(store, second, JobStatus.ACCEPTED)
    assert jobs.report("CP-1", 8, F.DOWNLOADING, NOW)
    await _until(store, second, JobStatus.DOWNLOADING)
    assert store.rows[first.job_id].status is JobStatus.ACCEPTED
    assert not jobs.report("CP-2", None, F.DOWNLOADING, NOW)  # no job of this node
    assert not jobs.report("CP-1", 99, F.DOWNLOADING, NOW)  # not one of its jobs


async def test_a_database_outage_keeps_the_stored_step_and_the_actor(node: Node) -> None:
    jobs, store = node.jobs, node.store
    state = await _job(jobs, store, 9)
    await _until(store, state, JobStatus.ACCEPTED)
    store.down = True
    jobs.report("CP-1", 9, F.DOWNLOADING, NOW)
    await asyncio.sleep(0.2)  # several ticks while the database is away
    assert store.rows[state.job_id].status is JobStatus.ACCEPTED
    context = node.system.context(f"/node-1/firmware/{state.job_id}")
    assert context.restarts == 0 and context.last_error is None  # no crash, no restart loop
    store.down = False
    jobs.report("CP-1", 9, F.DOWNLOADING, NOW)  # the station's next report is stored
    await _until(store, state, JobStatus.DOWNLOADING)
