"""What operators ask of firmware jobs and campaigns (built by REST, read by the service)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class JobRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator asks for one station (REST body, or one station of a campaign)."""

    station_id: str
    location: str
    version: str | None = None
    retrieve_at: datetime | None = None
    install_at: datetime | None = None
    signing_certificate: str | None = None
    signature: str | None = None
    retries: int = 0
    retry_interval_s: int = 60
    requested_by: str | None = None
    campaign_id: UUID | None = None


class CampaignRequest(msgspec.Struct, frozen=True, kw_only=True):
    station_ids: tuple[str, ...] | None = None
    filter: dict[str, str | None] | None = None
    location: str
    version: str
    max_concurrent: int
    failure_threshold_percent: int
    retries: int = 0
    retry_interval_s: int = 60
    signing_certificate: str | None = None
    signature: str | None = None
    created_by: str | None = None
