"""Firmware on real PostgreSQL (one database for the module): PgJobStore's compare-and-set
under the lease, take-over only after a lease ran out, a cancel that beats the lease holder;
then two node trees in this process with real NATS: a job running on one node while its
station talks to the other (reports and boot reach the job over NATS), and a campaign that
meets a station busy with another job."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import nats
import pytest
from msgspec.structs import replace

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg_firmware import PgJobStore
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.cluster.routing import StationRouter
from sigec_actors.config import load_settings
from sigec_actors.domain.records import Caller
from sigec_actors.firmware.requests import CampaignRequest, JobRequest
from sigec_actors.firmware.state import HistoryEntry, JobState, JobStatus
from sigec_actors.firmware.wiring import FirmwareWiring
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem

NOW = datetime.now(UTC).replace(microsecond=0)
FIRMWARE = Caller("system", "firmware")  # the node's caller of its firmware jobs' commands


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
    state = await _job(pg_pool, store, "store-1")
    step = replace(state, status=JobStatus.DOWNLOADING, attempts=1,
                   history=(HistoryEntry("Downloading", NOW, out_of_order=True),))
    assert not await store.save(JobStatus.REQUESTED, step, "store-2")  # not its lease
    assert await store.save(JobStatus.REQUESTED, step, "store-1")
    assert not await store.save(JobStatus.REQUESTED, step, "store-1")  # moved on already
    assert await store.load(state.job_id) == step
    assert (await store.latest_for_station(state.station_id)) == step


async def test_a_node_takes_over_jobs_only_after_their_lease_ran_out(pg_pool: DbPool) -> None:
    store = PgJobStore(pg_pool)
    held = await _job(pg_pool, store, "store-a", lease_s=60)
    expired = await _job(pg_pool, store, "store-b", lease_s=-1)
    claimed = {s.job_id for s in await store.claim("store-c", NOW, NOW + timedelta(seconds=60), 100)}
    assert expired.job_id in claimed and held.job_id not in claimed
    assert not await store.save(JobStatus.REQUESTED, expired, "store-b")  # b lost it
    own = {s.job_id for s in await store.claim("store-a", NOW, NOW + timedelta(seconds=60), 100)}
    assert held.job_id in own  # a restarted store-a renews (and resumes) its own


async def test_a_cancel_wins_over_the_actor_that_still_holds_the_lease(pg_pool: DbPool) -> None:
    store = PgJobStore(pg_pool)
    state = await _job(pg_pool, store, "store-1")
    cancelled = replace(state, status=JobStatus.CANCELLED, completed_at=NOW)
    assert await store.cancel(state.job_id, cancelled, [])
    assert not await store.cancel(state.job_id, cancelled, [])  # already finished
    moved = replace(state, status=JobStatus.ACCEPTED)
    assert not await store.save(JobStatus.REQUESTED, moved, "store-1")
    loaded = await store.load(state.job_id)
    assert loaded is not None and loaded.status is JobStatus.CANCELLED


CFG = msgspec.structs.replace(load_settings({}).firmware, tick_s=0.1, claim_interval_s=60.0,
                              campaign_tick_s=0.1)


@dataclass
class HeldStation:
    """What node-b's charge points answer (the router's LocalCommander shape): every
    UpdateFirmware is accepted; `sent` keeps (station, request, caller, origin node)."""

    sent: list[tuple[str, msgspec.Struct, Caller, str]] = field(default_factory=list)

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        self.sent.append((station_id, request, caller, origin))
        return v201.UpdateFirmwareResponse(status=v201.UpdateFirmwareStatusEnum.ACCEPTED)

    def to(self, station_id: str) -> list[msgspec.Struct]:
        return [r for sid, r, _, _ in self.sent if sid == station_id]


@dataclass
class Nodes:
    a: FirmwareWiring  # runs the jobs
    handlers_b: StationHandlers  # node-b's charge points (it holds the stations)
    station: HeldStation
    router_b: StationRouter


@pytest.fixture
async def nodes(pg_pool: DbPool, nats_url: str) -> AsyncIterator[Nodes]:
    """Two nodes on real NATS: UpdateFirmware from node-a's jobs goes through the cluster's
    command routing to node-b, which holds the stations (`router_b.attach`)."""
    nc = await nats.connect(nats_url)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    station, handlers_b = HeldStation(), StationHandlers()
    wirings, systems, routers = [], [], []
    for name in ("node-a", "node-b"):
        bus = NatsEventBus(nc)
        router = StationRouter(bus, name, station, prefix=prefix, default_timeout_s=3.0,
                               flush=nc.flush)
        system = ActorSystem(name=name)
        tree = await NodeTree.start(system)
        wiring = FirmwareWiring(
            pg_pool, CFG, tree.firmware, bus=bus, node=name, subject=f"{prefix}.firmware",
            commander=lambda r=router: r.commander.as_caller(FIRMWARE))  # type: ignore[misc]
        wiring.register(handlers_b if name == "node-b" else StationHandlers())
        await wiring.serve()
        wirings.append(wiring)
        systems.append(system)
        routers.append(router)
    yield Nodes(wirings[0], handlers_b, station, routers[1])
    for wiring, system, router in zip(wirings, systems, routers, strict=True):
        await wiring.aclose()
        await router.close()
        await system.shutdown()
    await nc.close()


async def _held(pool: DbPool, nodes: Nodes, prefix: str) -> str:
    station_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", station_id)
    await nodes.router_b.attach(station_id)
    return station_id


async def _until(a: FirmwareWiring, job_id: UUID, status: JobStatus) -> JobState:
    state = None
    for _ in range(100):
        state = await a.store.load(job_id)
        if state is not None and state.status is status:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {status}: {state}")


async def test_a_job_on_one_node_drives_a_station_held_by_another(nodes: Nodes,
                                                                   pg_pool: DbPool) -> None:
    """UpdateFirmware goes out through the command routing; the station's reports and its
    boot, seen by node-b's charge points, reach the job on node-a over NATS."""
    a, handlers_b, station = nodes.a, nodes.handlers_b, nodes.station
    station_id = await _held(pg_pool, nodes, "FWX")
    job = await a.service.start(JobRequest(station_id=station_id, location="https://fw/x-3.0.bin",
                                           version="3.0"))
    assert a.jobs.ref(job.job_id) is not None  # /node-a/firmware/<jobId>
    await _until(a, job.job_id, JobStatus.ACCEPTED)
    (_, request, caller, origin), = station.sent
    assert isinstance(request, v201.UpdateFirmwareRequest) and origin == "node-a"
    assert caller == FIRMWARE and request.request_id == job.request_id
    (status_watcher,) = handlers_b.watchers_for(v201.FirmwareStatusNotificationRequest)
    (boot_watcher,) = handlers_b.watchers_for(v201.BootNotificationRequest)
    for status in (v201.FirmwareStatusEnum.DOWNLOADING, v201.FirmwareStatusEnum.DOWNLOADED,
                   v201.FirmwareStatusEnum.INSTALLING):
        status_watcher(station_id, v201.FirmwareStatusNotificationRequest(
            status=status, request_id=job.request_id))
        await _until(a, job.job_id, JobStatus(status.value))
    boot_watcher(station_id, v201.BootNotificationRequest(
        reason=v201.BootReasonEnum.FIRMWARE_UPDATE, charging_station=v201.ChargingStation(
            model="M", vendor_name="V", firmware_version="3.0")))
    done = await _until(a, job.job_id, JobStatus.COMPLETED)
    assert done.completed_at is not None and done.completed_at <= datetime.now(UTC)
    assert len(station.to(station_id)) == 1


async def test_a_campaign_skips_a_station_busy_with_another_job(nodes: Nodes,
                                                               pg_pool: DbPool) -> None:
    a, station = nodes.a, nodes.station
    station_id = await _held(pg_pool, nodes, "FWY")
    manual = await a.service.start(JobRequest(station_id=station_id, location="https://fw/y-1.bin"))
    await _until(a, manual.job_id, JobStatus.ACCEPTED)  # and it stays there: no reports
    campaign = await a.service.create_campaign(CampaignRequest(
        station_ids=(station_id,), location="https://fw/y-2.0.bin", version="2.0",
        max_concurrent=1, failure_threshold_percent=0))
    for _ in range(100):
        stored, counts = await a.service.campaign(campaign.campaign_id)
        if stored.status.value != "Running":
            break
        await asyncio.sleep(0.05)
    assert stored.status.value == "Completed", stored  # the campaign's own jobs only:
    assert counts.by_status == {"Cancelled": 1}, counts
    skipped = await a.store.latest_for_station(station_id)
    assert skipped is not None and skipped.campaign_id == campaign.campaign_id
    assert skipped.error == f"skipped: the station has a live firmware job {manual.job_id}"
    assert len(station.to(station_id)) == 1  # the manual job's UpdateFirmware only
