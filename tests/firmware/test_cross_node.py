"""A job running on one node while its station talks to another: the station's reports and its
boot reach the job over NATS (two node trees in this process, real PostgreSQL and NATS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import nats
import pytest

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.config import load_settings
from sigec_actors.firmware.requests import JobRequest
from sigec_actors.firmware.state import JobState, JobStatus
from sigec_actors.firmware.wiring import FirmwareWiring
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem

CFG = msgspec.structs.replace(load_settings({}).firmware, tick_s=0.1, claim_interval_s=60.0)


class AcceptingStation:
    """The command channel: the station (held elsewhere) accepts every UpdateFirmware."""

    def __init__(self) -> None:
        self.sent: list[msgspec.Struct] = []

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        self.sent.append(request)
        return v201.UpdateFirmwareResponse(status=v201.UpdateFirmwareStatusEnum.ACCEPTED)


@pytest.fixture
async def nodes(pg_pool: DbPool, nats_url: str,
                ) -> AsyncIterator[tuple[FirmwareWiring, StationHandlers, AcceptingStation]]:
    """Node A runs jobs; node B holds the station (its charge points' handlers)."""
    nc = await nats.connect(nats_url)
    subject = f"sigec.test.firmware.{uuid.uuid4().hex}"
    station = AcceptingStation()
    wirings, systems = [], []
    handlers_b = StationHandlers()
    for name in ("node-a", "node-b"):
        system = ActorSystem(name=name)
        tree = await NodeTree.start(system)
        wiring = FirmwareWiring(pg_pool, CFG, tree.firmware, commander=lambda: station,
                                bus=NatsEventBus(nc), node=name, subject=subject)
        wiring.register(handlers_b if name == "node-b" else StationHandlers())
        await wiring.serve()
        wirings.append(wiring)
        systems.append(system)
    yield wirings[0], handlers_b, station
    for wiring, system in zip(wirings, systems, strict=True):
        await wiring.aclose()
        await system.shutdown()
    await nc.close()


async def _until(a: FirmwareWiring, job_id: UUID, status: JobStatus) -> JobState:
    state = None
    for _ in range(100):
        state = await a.store.load(job_id)
        if state is not None and state.status is status:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {status}: {state}")


async def test_reports_on_the_stations_node_reach_the_job_on_another(
        nodes: tuple[FirmwareWiring, StationHandlers, AcceptingStation],
        pg_pool: DbPool) -> None:
    a, handlers_b, station = nodes
    station_id = f"FWX-{uuid.uuid4().hex[:8]}"
    async with pg_pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1)", station_id)
    job = await a.service.start(JobRequest(station_id=station_id, location="https://fw/x-3.0.bin",
                                           version="3.0"))
    assert a.jobs.ref(job.job_id) is not None  # /node-a/firmware/<jobId>
    await _until(a, job.job_id, JobStatus.ACCEPTED)
    assert isinstance(station.sent[0], v201.UpdateFirmwareRequest)
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
    assert len(station.sent) == 1
