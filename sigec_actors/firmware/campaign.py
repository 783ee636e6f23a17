"""Firmware campaigns: one update across a fleet, `maxConcurrent` jobs at a time, stopped
by itself when too many fail. A pure `plan` decides each round; the Campaign actor runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.runtime import Actor


class CampaignStatus(StrEnum):
    RUNNING = "Running"
    PAUSED = "Paused"
    CANCELLED = "Cancelled"
    STOPPED = "Stopped"  # the failure rate passed the threshold
    COMPLETED = "Completed"


C = CampaignStatus
CAMPAIGN_TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    C.RUNNING: frozenset({C.PAUSED, C.CANCELLED, C.STOPPED, C.COMPLETED}),
    C.PAUSED: frozenset({C.RUNNING, C.CANCELLED}),
    C.CANCELLED: frozenset(),
    C.STOPPED: frozenset({C.CANCELLED}),
    C.COMPLETED: frozenset(),
}
"""What an operator (pause, resume, cancel) or a round (stop, complete) may do next."""
LIVE_JOB = ("Requested", "Accepted", "DownloadScheduled", "Downloading", "DownloadPaused",
            "Downloaded", "SignatureVerified", "InstallScheduled", "Installing",
            "InstallRebooting", "Installed", "Retrying")
NOT_ON_STATION = ("Requested", "Retrying")


class Campaign(msgspec.Struct, frozen=True, kw_only=True):
    """One campaign as stored in `firmware_campaigns`."""

    campaign_id: UUID
    location: str
    version: str
    station_ids: tuple[str, ...]
    max_concurrent: int
    failure_threshold_percent: int
    retries: int = 0
    retry_interval_s: int = 60
    signing_certificate: str | None = None
    signature: str | None = None
    filter: dict[str, Any] | None = None
    status: CampaignStatus = CampaignStatus.RUNNING
    stop_reason: str | None = None
    created_by: str | None = None
    created_at: datetime
    ended_at: datetime | None = None


class Counts(msgspec.Struct, frozen=True):
    """The campaign's jobs by status, and how many stations still have none."""

    by_status: dict[str, int]
    pending: int

    @property
    def started(self) -> int:
        return sum(self.by_status.values())

    @property
    def live(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in LIVE_JOB)

    @property
    def failed(self) -> int:
        return self.by_status.get("Failed", 0)

    def failure_percent(self) -> float:
        """Failed jobs over started jobs (0 before any start)."""
        return 100.0 * self.failed / self.started if self.started else 0.0


class Round(msgspec.Struct, frozen=True):
    """What one round does: the campaign's new status (None: unchanged), jobs to start."""

    status: CampaignStatus | None = None
    reason: str | None = None
    start: int = 0


def plan(campaign: Campaign, counts: Counts) -> Round:
    """The next round of a campaign: stop past the threshold, complete when all are done,
    else start jobs up to `max_concurrent` live ones."""
    if campaign.status is not C.RUNNING:
        return Round()
    if counts.failed and counts.failure_percent() > campaign.failure_threshold_percent:
        return Round(C.STOPPED, f"{counts.failed} of {counts.started} jobs failed "
                     f"({counts.failure_percent():.1f} % > "
                     f"{campaign.failure_threshold_percent} %)")
    if counts.pending == 0 and counts.live == 0:
        return Round(C.COMPLETED)
    return Round(start=max(0, min(campaign.max_concurrent - counts.live, counts.pending)))


class CampaignRows(Protocol):
    """What a campaign round reads and writes (firmware.campaign_store.PgCampaignStore)."""

    async def load(self, campaign_id: UUID) -> Campaign | None: ...
    async def counts(self, campaign: Campaign) -> Counts: ...
    async def set_status(self, campaign_id: UUID, expected: CampaignStatus,
                         new: CampaignStatus, reason: str | None, now: datetime) -> bool: ...
    async def next_stations(self, campaign_id: UUID, limit: int) -> list[str]: ...


class CampaignTick(msgspec.Struct, frozen=True):
    """Timer (and nudge after an operator's change): run one round."""


@dataclass(frozen=True, slots=True)
class CampaignDeps:
    rows: CampaignRows
    start_job: Callable[[Campaign, str], Awaitable[None]]
    """Create and run the job of one station of the campaign (on this node)."""
    on_stopped: Callable[[Campaign], Awaitable[None]]
    """The campaign stopped itself: alert, and cancel its jobs no station runs yet."""
    clock: Callable[[], datetime]
    tick_s: float = 2.0
    on_exit: Callable[[UUID], None] | None = None


class CampaignActor(Actor[CampaignTick]):
    """Runs a campaign's rounds at `/node-N/firmware/campaign-<id>` until it ends."""

    __slots__ = ("_campaign", "_campaign_id", "_counts", "_deps")

    def __init__(self, campaign_id: UUID, deps: CampaignDeps) -> None:
        self._campaign_id = campaign_id
        self._deps = deps
        self._campaign: Campaign | None = None
        self._counts: Counts | None = None

    async def on_start(self) -> None:
        self.ctx.every(self._deps.tick_s, CampaignTick())
        self.ctx.after(0, CampaignTick())

    async def receive(self, msg: CampaignTick) -> Any:
        try:
            await self._round()
        except DB_FAILURES as exc:  # the next tick tries again (no crash loop on an outage)
            self.ctx.log.error("firmware.campaign_round_failed",
                               campaign=str(self._campaign_id), error=repr(exc))
        return None

    async def _round(self) -> None:
        deps = self._deps
        campaign = self._campaign = await deps.rows.load(self._campaign_id)
        if campaign is None or campaign.status not in (C.RUNNING, C.PAUSED):
            self.ctx.stop()
            return
        counts = self._counts = await deps.rows.counts(campaign)
        step = plan(campaign, counts)
        if step.status is not None:
            if await deps.rows.set_status(campaign.campaign_id, campaign.status, step.status,
                                          step.reason, deps.clock()):
                self.ctx.log.info("firmware.campaign_ended", campaign=str(campaign.campaign_id),
                                  status=step.status.value, reason=step.reason)
                if step.status is C.STOPPED:
                    await deps.on_stopped(msgspec.structs.replace(
                        campaign, status=step.status, stop_reason=step.reason))
            return
        for station_id in await deps.rows.next_stations(campaign.campaign_id, step.start):
            await deps.start_job(campaign, station_id)

    async def on_stop(self, reason: Any) -> None:
        if self._deps.on_exit is not None:
            self._deps.on_exit(self._campaign_id)

    def state_summary(self) -> str:
        c, n = self._campaign, self._counts
        if c is None or n is None:
            return "not loaded"
        return (f"{c.status.value}, {n.started}/{len(c.station_ids)} started, {n.live} live, "
                f"{n.failed} failed")


def counts_of(rows: Mapping[str, int], total: int, started: int) -> Counts:
    """Counts from a status -> jobs mapping, for a campaign of `total` stations."""
    return Counts(dict(rows), max(0, total - started))
