"""The node's firmware jobs: FirmwareJob actors under `/node-N/firmware`, fed by the stations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from sigec_actors.firmware.actor import FirmwareJob, JobDeps
from sigec_actors.firmware.messages import Booted, FirmwareJobMsg, StatusReported
from sigec_actors.firmware.state import JobState
from sigec_actors.ocpp.generated.v201 import FirmwareStatusEnum
from sigec_actors.runtime import (
    ActorDead,
    ActorRef,
    ChildExists,
    ChildSpec,
    MailboxFull,
    Restart,
    SupervisorAt,
)

log = structlog.get_logger("firmware")
CLAIM_BATCH = 500
"""Jobs taken over from expired leases per round (the next round takes the rest)."""


class FirmwareJobs:
    """Runs one FirmwareJob actor per live job leased to this node.

    The charge points' watchers tell it each FirmwareStatusNotification and BootNotification;
    it never blocks them: a dictionary lookup, then a `tell`. `report`/`booted` return False
    when no job of this node took the message (the wiring then asks the other nodes).
    """

    def __init__(self, supervisor: SupervisorAt, deps: JobDeps, lease_s: float) -> None:
        self._supervisor = supervisor
        self._deps = JobDeps(deps.store, deps.sender, deps.alerts, deps.node, deps.policy,
                             deps.tick_s, self._exited)
        self._lease = timedelta(seconds=lease_s)
        self._by_station: dict[str, dict[UUID, int]] = {}  # station -> {job: requestId}
        self._station_of: dict[UUID, str] = {}

    @property
    def deps(self) -> JobDeps:
        return self._deps

    @property
    def supervisor(self) -> SupervisorAt:
        """`/node-N/firmware` (campaign actors live there too)."""
        return self._supervisor

    # -- the stations' reports --------------------------------------------------------------

    def report(self, station_id: str, request_id: int | None, status: FirmwareStatusEnum,
               at: datetime) -> bool:
        """A FirmwareStatusNotification: to the job with that requestId (any live job of the
        station when the station sent none)."""
        jobs = self._by_station.get(station_id)
        if not jobs:
            return False
        targets = [j for j, rid in jobs.items() if request_id is None or rid == request_id]
        for job_id in targets:
            self._tell(job_id, StatusReported(status, at))
        return bool(targets)

    def booted(self, station_id: str, reason: str, version: str | None, at: datetime) -> bool:
        """A BootNotification: to every live job of the station run here."""
        jobs = tuple(self._by_station.get(station_id, ()))
        for job_id in jobs:
            self._tell(job_id, Booted(reason, version, at))
        return bool(jobs)

    # -- control ----------------------------------------------------------------------------

    async def run(self, state: JobState) -> ActorRef[FirmwareJobMsg]:
        """The job's actor at `/node-N/firmware/<jobId>`, started if it is not running."""
        job_id = state.job_id
        self._by_station.setdefault(state.station_id, {})[job_id] = state.request_id
        self._station_of[job_id] = state.station_id
        spec = ChildSpec(key=str(job_id), factory=lambda: FirmwareJob(job_id, self._deps),
                         restart=Restart.TRANSIENT, kind="FirmwareJob")
        try:
            return await self._supervisor.start_child(spec)
        except ChildExists:
            ref = self.ref(job_id)
            assert ref is not None
            return ref

    async def create(self, state: JobState, now: datetime) -> ActorRef[FirmwareJobMsg]:
        """Store a new job leased to this node and start its actor."""
        await self._deps.store.create(state, self._deps.node, now + self._lease)
        return await self.run(state)

    async def claim(self, now: datetime) -> int:
        """Renew this node's leases; resume its jobs not running (after a restart) and those
        whose node's lease ran out. Returns how many actors it started."""
        started = 0
        for state in await self._deps.store.claim(self._deps.node, now, now + self._lease,
                                                  CLAIM_BATCH):
            if self.ref(state.job_id) is None:
                await self.run(state)
                started += 1
        if started:
            log.info("firmware.jobs_resumed", count=started, node=self._deps.node)
        return started

    def ref(self, job_id: UUID) -> ActorRef[FirmwareJobMsg] | None:
        ref = self._supervisor.child(str(job_id))
        return ref if ref is not None and ref.alive else None

    def running(self) -> list[UUID]:
        return list(self._station_of)

    # -- internals ----------------------------------------------------------------------------

    def _exited(self, job_id: UUID, state: Any) -> None:
        if self.ref(job_id) is not None:
            return  # a restart: the next incarnation keeps the slot
        station = self._station_of.pop(job_id, None)
        jobs = self._by_station.get(station) if station is not None else None
        if jobs is not None and station is not None:
            jobs.pop(job_id, None)
            if not jobs:
                del self._by_station[station]

    def _tell(self, job_id: UUID, msg: FirmwareJobMsg) -> None:
        ref = self.ref(job_id)
        if ref is None:
            return
        try:
            ref.tell(msg)
        except (MailboxFull, ActorDead) as exc:
            log.warning("firmware.tell_dropped", job=str(job_id), msg=type(msg).__name__,
                        error=type(exc).__name__)
