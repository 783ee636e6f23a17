"""Bodies of the report routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from api.schemas.base import Body, Out
from sigec_actors.reports.model import (
    GroupBy,
    ReportFormat,
    ReportInfo,
    ReportKind,
    ReportSpec,
    ReportStatus,
)

Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with an offset")]
Zone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$",
                                   description="IANA time zone of the days (default UTC)")]


class ReportIn(Body, frozen=True, kw_only=True):
    """A report over [from, to) (at most 400 days)."""

    kind: ReportKind
    from_: Instant = msgspec.field(name="from")
    to: Instant
    group_by: GroupBy = GroupBy.DAY
    format: ReportFormat = ReportFormat.CSV
    timezone: Zone = "UTC"

    def spec(self) -> ReportSpec:
        return ReportSpec(kind=self.kind, group_by=self.group_by, format=self.format,
                          from_at=self.from_, to_at=self.to, timezone=self.timezone)


class ReportAccepted(Out, frozen=True, kw_only=True):
    report_id: UUID
    status: ReportStatus
    status_url: str


class ReportOut(Out, frozen=True, kw_only=True):
    """A report's request and state; `rows` (the first 200) and `downloadUrl` once done."""

    id: UUID
    kind: ReportKind
    group_by: GroupBy
    format: ReportFormat
    from_: datetime = msgspec.field(name="from")
    to: datetime
    timezone: str
    status: ReportStatus
    progress: Annotated[int, msgspec.Meta(ge=0, le=100)]
    created_at: datetime
    finished_at: datetime | None = None
    source_rows: int | None = None
    row_count: int | None = None
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    download_url: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, info: ReportInfo, base: str) -> ReportOut:
        spec = info.spec
        done = info.status is ReportStatus.DONE
        return cls(id=info.id, kind=spec.kind, group_by=spec.group_by, format=spec.format,
                   from_=spec.from_at, to=spec.to_at, timezone=spec.timezone,
                   status=info.status, progress=info.progress, created_at=info.created_at,
                   finished_at=info.finished_at, source_rows=info.source_rows,
                   row_count=info.row_count, columns=info.columns, rows=info.preview,
                   download_url=f"{base}/{info.id}/download" if done else None,
                   error=info.error)


class ReportPage(Out, frozen=True, kw_only=True):
    """Reports newest first; their rows are only in GET /reports/{id}."""

    items: list[ReportOut]
    total: int
    limit: int
    offset: int
