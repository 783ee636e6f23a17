"""Request and response bodies of the firmware routes (jobs, campaigns, publish)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.ports import FirmwareState
from api.schemas.base import Body, Out
from sigec_actors.firmware.campaign import Campaign, Counts
from sigec_actors.firmware.state import HistoryEntry, JobState

Location = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Version = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Cert = Annotated[str, msgspec.Meta(max_length=5500)]
Signature = Annotated[str, msgspec.Meta(max_length=800)]
Retries = Annotated[int, msgspec.Meta(ge=0, le=20)]
RetryInterval = Annotated[int, msgspec.Meta(ge=1, le=86_400)]
Aware = Annotated[datetime, msgspec.Meta(tz=True)]
StationId = Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
StationIds = Annotated[list[StationId], msgspec.Meta(min_length=1, max_length=100_000)]


class UpdateBody(Body, frozen=True, kw_only=True):
    location: Location
    version: Version | None = None
    retrieve_at: Aware | None = None
    install_at: Aware | None = None
    signing_certificate: Cert | None = None
    signature: Signature | None = None
    retries: Retries = 0
    retry_interval_s: RetryInterval = 60


class JobAccepted(Out, frozen=True, kw_only=True):
    job_id: UUID
    request_id: int
    status: str


class JobOut(Out, frozen=True, kw_only=True):
    job_id: UUID
    charge_point_id: str
    request_id: int
    status: str
    station_status: str | None
    location: str
    version: str | None
    attempts: int
    max_retries: int
    history: list[HistoryEntry]
    error: str | None
    campaign_id: UUID | None
    created_at: datetime
    completed_at: datetime | None


class StationFirmwareOut(Out, frozen=True, kw_only=True):
    """The station's installed version and its latest firmware job (None: never updated)."""

    station_id: str
    firmware_version: str | None
    online: bool
    last_report: FirmwareState | None
    job: JobOut | None


class CampaignFilter(Body, frozen=True, kw_only=True):
    vendor: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None
    firmware_version: Version | None = None


class CampaignBody(Body, frozen=True, kw_only=True):
    station_ids: StationIds | None = None
    filter: CampaignFilter | None = None
    location: Location
    version: Version
    max_concurrent: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    failure_threshold_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10
    retries: Retries = 0
    retry_interval_s: RetryInterval = 60
    signing_certificate: Cert | None = None
    signature: Signature | None = None


class CampaignOut(Out, frozen=True, kw_only=True):
    campaign_id: UUID
    status: str
    stop_reason: str | None
    location: str
    version: str
    total: int
    pending: int
    live: int
    counts: dict[str, int]
    failure_rate_percent: float
    max_concurrent: int
    failure_threshold_percent: int
    created_at: datetime
    ended_at: datetime | None


class PublishBody(Body, frozen=True, kw_only=True):
    location: Location
    checksum: Annotated[str, msgspec.Meta(min_length=32, max_length=32,
                                          pattern="^[0-9a-fA-F]{32}$")]
    retries: Retries | None = None
    retry_interval_s: RetryInterval | None = None


class UnpublishBody(Body, frozen=True, kw_only=True):
    checksum: Annotated[str, msgspec.Meta(min_length=32, max_length=32,
                                          pattern="^[0-9a-fA-F]{32}$")]


class PublicationOut(Out, frozen=True, kw_only=True):
    request_id: int
    status: str
    locations: list[str]
    updated_at: datetime


class PublicationsOut(Out, frozen=True, kw_only=True):
    items: list[PublicationOut]


def job_out(s: JobState) -> JobOut:
    return JobOut(
        job_id=s.job_id, charge_point_id=s.station_id, request_id=s.request_id,
        status=s.status.value, station_status=s.station_status, location=s.location,
        version=s.version, attempts=s.attempts, max_retries=s.max_retries,
        history=list(s.history), error=s.error, campaign_id=s.campaign_id,
        created_at=s.created_at, completed_at=s.completed_at)


def campaign_out(c: Campaign, n: Counts) -> CampaignOut:
    return CampaignOut(
        campaign_id=c.campaign_id, status=c.status.value, stop_reason=c.stop_reason,
        location=c.location, version=c.version, total=len(c.station_ids), pending=n.pending,
        live=n.live, counts=n.by_status, failure_rate_percent=round(n.failure_percent(), 1),
        max_concurrent=c.max_concurrent, failure_threshold_percent=c.failure_threshold_percent,
        created_at=c.created_at, ended_at=c.ended_at)
