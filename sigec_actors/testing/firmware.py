"""Firmware fakes: FirmwareControl for the in-process API harness (jobs stay as created) and
a JobStore in memory (actor tests, the bench)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from msgspec.structs import replace

from sigec_actors.domain.records import OutboxMessage
from sigec_actors.firmware.campaign import CAMPAIGN_TRANSITIONS, Campaign, CampaignStatus, Counts
from sigec_actors.firmware.errors import (
    CampaignTransition,
    JobFinished,
    NoStations,
    UnknownCampaign,
    UnknownJob,
)
from sigec_actors.firmware.ports import Publication
from sigec_actors.firmware.requests import CampaignRequest, JobRequest
from sigec_actors.firmware.state import JobState, JobStatus


def _now() -> datetime:
    return datetime.now(UTC)


class InMemoryFirmware:
    """Stores jobs and campaigns; nothing runs them (no station behind the API harness)."""

    def __init__(self, stations: tuple[str, ...] = (), clock: Callable[[], datetime] = _now,
                 ) -> None:
        self.stations = stations
        self.jobs: dict[UUID, JobState] = {}
        self.campaigns: dict[UUID, Campaign] = {}
        self.published: dict[str, list[Publication]] = {}
        self._clock = clock
        self._ids = 1000

    async def start(self, req: JobRequest) -> JobState:
        now = self._clock()
        state = JobState(
            job_id=uuid4(), station_id=req.station_id, request_id=await self.next_request_id(),
            location=req.location, version=req.version, retrieve_at=req.retrieve_at or now,
            install_at=req.install_at, max_retries=req.retries,
            retry_interval_s=req.retry_interval_s, campaign_id=req.campaign_id,
            requested_by=req.requested_by, created_at=now)
        self.jobs[state.job_id] = state
        return state

    async def job(self, job_id: UUID) -> JobState:
        if job_id not in self.jobs:
            raise UnknownJob(str(job_id))
        return self.jobs[job_id]

    async def latest(self, station_id: str) -> JobState | None:
        state = await self.latest_any(station_id)
        return state if state is not None and state.live else None

    async def latest_any(self, station_id: str) -> JobState | None:
        mine = [s for s in self.jobs.values() if s.station_id == station_id]
        return max(mine, key=lambda s: s.created_at) if mine else None

    async def cancel(self, job_id: UUID, by: str) -> JobState:
        state = await self.job(job_id)
        if not state.live:
            raise JobFinished(str(job_id), state.status.value)
        self.jobs[job_id] = new = replace(state, status=JobStatus.CANCELLED,
                                          completed_at=self._clock())
        return new

    async def create_campaign(self, req: CampaignRequest) -> Campaign:
        ids = [s for s in req.station_ids or self.stations if s in self.stations]
        if not ids:
            raise NoStations
        campaign = Campaign(
            campaign_id=uuid4(), location=req.location, version=req.version,
            station_ids=tuple(ids), max_concurrent=req.max_concurrent,
            failure_threshold_percent=req.failure_threshold_percent, created_at=self._clock())
        self.campaigns[campaign.campaign_id] = campaign
        return campaign

    async def campaign(self, campaign_id: UUID) -> tuple[Campaign, Counts]:
        if campaign_id not in self.campaigns:
            raise UnknownCampaign(str(campaign_id))
        campaign = self.campaigns[campaign_id]
        return campaign, Counts({}, len(campaign.station_ids))

    async def change_campaign(self, campaign_id: UUID, new: CampaignStatus,
                              by: str) -> tuple[Campaign, Counts]:
        campaign, counts = await self.campaign(campaign_id)
        if campaign.status is not new:
            if new not in CAMPAIGN_TRANSITIONS[campaign.status]:
                raise CampaignTransition(str(campaign_id), campaign.status.value, new.value)
            self.campaigns[campaign_id] = campaign = replace(campaign, status=new)
        return campaign, counts

    async def next_request_id(self) -> int:
        self._ids += 1
        return self._ids

    async def publications(self, station_id: str) -> list[Publication]:
        return list(self.published.get(station_id, ()))


class InMemoryJobStore:
    """JobStore in memory (one node; leases are not enforced): for actor tests and the bench."""

    def __init__(self) -> None:
        self.rows: dict[UUID, JobState] = {}
        self._ids = 1000

    async def next_request_id(self) -> int:
        self._ids += 1
        return self._ids

    async def create(self, state: JobState, owner: str, lease_until: datetime,
                     events: Sequence[OutboxMessage] = ()) -> None:
        self.rows[state.job_id] = state

    async def load(self, job_id: UUID) -> JobState | None:
        return self.rows.get(job_id)

    async def save(self, expected: JobStatus, state: JobState, owner: str,
                   events: Sequence[OutboxMessage] = ()) -> bool:
        row = self.rows.get(state.job_id)
        if row is None or row.status is not expected:
            return False
        self.rows[state.job_id] = state
        return True

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    limit: int) -> list[JobState]:
        return [s for s in self.rows.values() if s.live][:limit]

    async def cancel(self, job_id: UUID, state: JobState,
                     events: Sequence[OutboxMessage]) -> bool:
        row = self.rows.get(job_id)
        if row is None or not row.live:
            return False
        self.rows[job_id] = state
        return True

    async def latest_for_station(self, station_id: str) -> JobState | None:
        mine = [s for s in self.rows.values() if s.station_id == station_id]
        return max(mine, key=lambda s: s.created_at) if mine else None

    async def latest_live(self, station_id: str) -> JobState | None:
        mine = [s for s in self.rows.values() if s.station_id == station_id and s.live]
        return max(mine, key=lambda s: s.created_at) if mine else None

    async def record_publication(self, station_id: str, request_id: int, status: str,
                                 locations: Sequence[str]) -> None:
        return None

    async def publications(self, station_id: str) -> list[Publication]:
        return []
