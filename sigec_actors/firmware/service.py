"""Firmware operations for REST and campaigns: start, read and cancel jobs; run campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import structlog
from msgspec.structs import replace

from sigec_actors.firmware.campaign import (
    NOT_ON_STATION,
    Campaign,
    CampaignActor,
    CampaignDeps,
    CampaignStatus,
    CampaignTick,
    Counts,
)
from sigec_actors.firmware.campaign_store import PgCampaignStore
from sigec_actors.firmware.core import decide
from sigec_actors.firmware.effects import Persist
from sigec_actors.firmware.errors import (
    CampaignTransition,
    JobFinished,
    NoStations,
    UnknownCampaign,
    UnknownJob,
)
from sigec_actors.firmware.jobs import FirmwareJobs
from sigec_actors.firmware.messages import CancelJob
from sigec_actors.firmware.ports import JobAlerts, JobStore, Publication
from sigec_actors.firmware.requests import CampaignRequest, JobRequest
from sigec_actors.firmware.state import HistoryEntry, JobState, JobStatus
from sigec_actors.runtime import (
    ActorDead,
    AskTimeout,
    ChildExists,
    ChildSpec,
    MailboxFull,
    Restart,
)

log = structlog.get_logger("firmware")
ASK_TIMEOUT_S = 15.0
CAMPAIGN_KEY = "campaign-"


class FirmwareService:
    """Jobs and campaigns of a node; a job or campaign created here runs here (its lease)."""

    def __init__(self, store: JobStore, campaigns: PgCampaignStore, jobs: FirmwareJobs,
                 alerts: JobAlerts, *, clock: Callable[[], datetime], lease_s: float,
                 campaign_tick_s: float) -> None:
        self.store, self.campaigns, self.jobs, self._alerts = store, campaigns, jobs, alerts
        self._clock = clock
        self._lease = timedelta(seconds=lease_s)
        self._campaign_tick_s = campaign_tick_s

    # -- jobs ---------------------------------------------------------------------------------

    async def start(self, req: JobRequest, *, busy_with: JobState | None = None) -> JobState:
        """Store the job (Requested) and run its actor here; UpdateFirmware goes out next.
        `busy_with` (a campaign's station with another live job): stored as Cancelled, saying
        so, and never sent (a second UpdateFirmware would cancel the first one)."""
        now = self._clock()
        state = JobState(
            job_id=uuid4(), station_id=req.station_id,
            request_id=await self.store.next_request_id(), location=req.location,
            version=req.version, retrieve_at=req.retrieve_at or now, install_at=req.install_at,
            signing_certificate=req.signing_certificate, signature=req.signature,
            max_retries=req.retries, retry_interval_s=req.retry_interval_s,
            campaign_id=req.campaign_id, requested_by=req.requested_by, created_at=now,
            deadline=now + timedelta(seconds=self.jobs.deps.policy.request_timeout_s))
        if busy_with is not None:
            reason = f"skipped: the station has a live firmware job {busy_with.job_id}"
            state = replace(state, status=JobStatus.CANCELLED, error=reason, deadline=None,
                            completed_at=now, history=(HistoryEntry("Cancelled", now, reason),))
            await self.store.create(state, self.jobs.deps.node, now)
            return state
        await self.jobs.create(state, now)
        return state

    async def job(self, job_id: UUID) -> JobState:
        """The job as stored: every step is written before the next message, so the row is
        its state (asking the actor would wait while it waits for its station)."""
        stored = await self.store.load(job_id)
        if stored is None:
            raise UnknownJob(str(job_id))
        return stored

    async def latest(self, station_id: str) -> JobState | None:
        state = await self.store.latest_live(station_id)
        return None if state is None else await self.job(state.job_id)

    async def latest_any(self, station_id: str) -> JobState | None:
        state = await self.store.latest_for_station(station_id)
        return None if state is None else await self.job(state.job_id)

    async def cancel(self, job_id: UUID, by: str) -> JobState:
        """Cancel through the job's actor here, else in the store (an actor elsewhere finds
        the row cancelled at its next step and stops without sending anything)."""
        ref = self.jobs.ref(job_id)
        if ref is not None:
            try:
                state = await ref.ask(CancelJob(by), timeout=ASK_TIMEOUT_S)
            except (ActorDead, AskTimeout, MailboxFull):  # gone, or busy with its station:
                state = None  # the store's cancel below; the actor stops at its next step
            if isinstance(state, JobState):
                return state
        state = await self.store.load(job_id)
        if state is None:
            raise UnknownJob(str(job_id))
        if not state.live:
            raise JobFinished(str(job_id), state.status.value)
        new, effects = decide(state, CancelJob(by), self._clock(), self.jobs.deps.policy)
        events = [e for eff in effects if isinstance(eff, Persist) for e in eff.events]
        if not await self.store.cancel(job_id, new, events):
            return await self.job(job_id)
        return new

    async def next_request_id(self) -> int:
        """A fresh requestId (PublishFirmware shares the jobs' sequence)."""
        return await self.store.next_request_id()

    async def publications(self, station_id: str) -> list[Publication]:
        return await self.store.publications(station_id)

    # -- campaigns ----------------------------------------------------------------------------

    async def create_campaign(self, req: CampaignRequest) -> Campaign:
        stations = await self.campaigns.select_stations(req.station_ids, req.filter or {})
        if not stations:
            raise NoStations
        now = self._clock()
        campaign = Campaign(
            campaign_id=uuid4(), location=req.location, version=req.version,
            station_ids=tuple(stations), max_concurrent=req.max_concurrent,
            failure_threshold_percent=req.failure_threshold_percent, retries=req.retries,
            retry_interval_s=req.retry_interval_s, signing_certificate=req.signing_certificate,
            signature=req.signature, filter=req.filter, created_by=req.created_by,
            created_at=now)
        await self.campaigns.create(campaign, self.jobs.deps.node, now + self._lease)
        await self.run_campaign(campaign.campaign_id)
        return campaign

    async def campaign(self, campaign_id: UUID) -> tuple[Campaign, Counts]:
        campaign = await self.campaigns.load(campaign_id)
        if campaign is None:
            raise UnknownCampaign(str(campaign_id))
        return campaign, await self.campaigns.counts(campaign)

    async def change_campaign(self, campaign_id: UUID, new: CampaignStatus,
                              by: str) -> tuple[Campaign, Counts]:
        """Pause, resume or cancel (cancel also cancels its jobs no station runs yet)."""
        campaign, _ = await self.campaign(campaign_id)
        reason = f"cancelled by {by}" if new is CampaignStatus.CANCELLED else None
        if campaign.status is not new and not await self.campaigns.set_status(
                campaign_id, campaign.status, new, reason, self._clock()):
            raise CampaignTransition(str(campaign_id), campaign.status.value, new.value)
        if new is CampaignStatus.CANCELLED:
            await self._cancel_waiting(campaign_id, by)
        elif new is CampaignStatus.RUNNING:
            await self.run_campaign(campaign_id)
        return await self.campaign(campaign_id)

    async def run_campaign(self, campaign_id: UUID) -> None:
        """The campaign's actor at `/node-N/firmware/campaign-<id>` (a nudge if it runs)."""
        spec = ChildSpec(key=CAMPAIGN_KEY + str(campaign_id), kind="FirmwareCampaign",
                         restart=Restart.TRANSIENT,
                         factory=lambda: CampaignActor(campaign_id, self._campaign_deps()))
        try:
            await self.jobs.supervisor.start_child(spec)
        except ChildExists:
            ref = self.jobs.supervisor.child(spec.key)
            if ref is not None and ref.alive:
                ref.tell(CampaignTick())

    async def claim_campaigns(self, now: datetime) -> None:
        for campaign_id in await self.campaigns.claim(self.jobs.deps.node, now,
                                                      now + self._lease):
            if self.jobs.supervisor.child(CAMPAIGN_KEY + str(campaign_id)) is None:
                await self.run_campaign(campaign_id)

    def _campaign_deps(self) -> CampaignDeps:
        return CampaignDeps(self.campaigns, self._start_for_campaign, self._stopped,
                            self._clock, self._campaign_tick_s)

    async def _start_for_campaign(self, campaign: Campaign, station_id: str) -> None:
        await self.start(busy_with=await self.store.latest_live(station_id), req=JobRequest(
            station_id=station_id, location=campaign.location, version=campaign.version,
            signing_certificate=campaign.signing_certificate, signature=campaign.signature,
            retries=campaign.retries, retry_interval_s=campaign.retry_interval_s,
            requested_by=campaign.created_by, campaign_id=campaign.campaign_id))

    async def _stopped(self, campaign: Campaign) -> None:
        await self._alerts.campaign_stopped(campaign)
        await self._cancel_waiting(campaign.campaign_id, "campaign stopped")

    async def _cancel_waiting(self, campaign_id: UUID, by: str) -> None:
        for job_id in await self.campaigns.jobs_in(campaign_id, NOT_ON_STATION):
            try:
                await self.cancel(job_id, by)
            except (UnknownJob, JobFinished):
                continue

