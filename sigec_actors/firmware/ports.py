"""What firmware jobs depend on: their storage (PostgreSQL) and the station command channel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

import msgspec

from sigec_actors.domain.records import OutboxMessage
from sigec_actors.firmware.campaign import Campaign, CampaignStatus, Counts
from sigec_actors.firmware.messages import UpdateAnswered
from sigec_actors.firmware.requests import CampaignRequest, JobRequest
from sigec_actors.firmware.state import JobState, JobStatus


class JobStore(Protocol):
    """firmware_updates rows: each one a job's state, leased to the node running its actor."""

    async def next_request_id(self) -> int:
        """A fresh UpdateFirmware requestId (a sequence: unique across the cluster)."""
        ...

    async def create(self, state: JobState, owner: str, lease_until: datetime,
                     events: Sequence[OutboxMessage] = ()) -> None: ...

    async def load(self, job_id: UUID) -> JobState | None: ...

    async def save(self, expected: JobStatus, state: JobState, owner: str,
                   events: Sequence[OutboxMessage] = ()) -> bool:
        """Write `state` if the row is still `expected` and leased to `owner`; False, nothing
        written, when another writer (a cancel, another node) moved it first."""
        ...

    async def claim(self, owner: str, now: datetime, lease_until: datetime,
                    limit: int) -> list[JobState]:
        """Renew `owner`'s leases and take over live jobs whose lease ran out; all of them."""
        ...

    async def cancel(self, job_id: UUID, state: JobState, events: Sequence[OutboxMessage],
                     ) -> bool:
        """Store the cancelled `state` if the row is still live (no actor runs it here)."""
        ...

    async def latest_for_station(self, station_id: str) -> JobState | None: ...

    async def latest_live(self, station_id: str) -> JobState | None:
        """The station's newest job that is not finished."""
        ...

    async def record_publication(self, station_id: str, request_id: int, status: str,
                                 locations: Sequence[str]) -> None:
        """Store a PublishFirmwareStatusNotification (the latest per request)."""
        ...

    async def publications(self, station_id: str) -> list[Publication]:
        """The station's PublishFirmware requests as last reported, newest first."""
        ...


class Publication(msgspec.Struct, frozen=True):
    """The last PublishFirmwareStatusNotification of one PublishFirmware request."""

    request_id: int
    status: str
    locations: tuple[str, ...]
    updated_at: datetime


class UpdateSender(Protocol):
    """Sends UpdateFirmware for a job (wherever the station is connected)."""

    async def update(self, state: JobState) -> UpdateAnswered:
        """The station's answer, or an UpdateAnswered with `error` (never raises for
        offline, busy or timeout)."""
        ...


class JobAlerts(Protocol):
    """Opens operator alerts: a failed job (deduped per job), a stopped campaign."""

    async def failed(self, state: JobState, reason: str) -> None: ...

    async def campaign_stopped(self, campaign: Campaign) -> None:
        """A campaign stopped itself (its failure rate passed the threshold)."""
        ...


@runtime_checkable
class FirmwareControl(Protocol):
    """What the firmware routes reach (service.FirmwareService; a fake in
    sigec_actors.testing.firmware). Errors: firmware.errors."""

    async def start(self, req: JobRequest) -> JobState: ...
    async def job(self, job_id: UUID) -> JobState: ...
    async def latest(self, station_id: str) -> JobState | None:
        """The station's live job, if any."""
        ...
    async def latest_any(self, station_id: str) -> JobState | None: ...
    async def cancel(self, job_id: UUID, by: str) -> JobState: ...
    async def create_campaign(self, req: CampaignRequest) -> Campaign: ...
    async def campaign(self, campaign_id: UUID) -> tuple[Campaign, Counts]: ...
    async def change_campaign(self, campaign_id: UUID, new: CampaignStatus,
                              by: str) -> tuple[Campaign, Counts]: ...
    async def next_request_id(self) -> int: ...
    async def publications(self, station_id: str) -> list[Publication]: ...
