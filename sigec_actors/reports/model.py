"""What a report is: its kind, grouping, window and format, its status, and its errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from sigec_actors.errors import SigecError

MAX_SPAN = timedelta(days=400)  # a year of data and some slack; longer asks are refused
PREVIEW_ROWS = 200  # rows returned inline by GET /reports/{id}; the file always has them all


class ReportKind(StrEnum):
    ENERGY = "energy"
    REVENUE = "revenue"
    V2G = "v2g"
    TRANSACTIONS = "transactions"
    UPTIME = "uptime"


class GroupBy(StrEnum):
    DAY = "day"
    STATION = "station"
    LOCATION = "location"


class ReportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"


class ReportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportError(SigecError):
    """Base of the reports' typed errors."""


class InvalidReport(ReportError):
    """A report request that cannot be run; `field` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"report {field}: {problem}")


class ReportSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What to compute: `kind` over [from_at, to_at), grouped by `group_by`, in `timezone` days."""

    kind: ReportKind
    group_by: GroupBy
    format: ReportFormat
    from_at: datetime
    to_at: datetime
    timezone: str = "UTC"

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check(self) -> None:
        """Raise InvalidReport unless the window is aware, ordered, at most MAX_SPAN, and the
        timezone is a known IANA name."""
        for name, value in (("from", self.from_at), ("to", self.to_at)):
            if value.tzinfo is None:
                raise InvalidReport(name, "must carry a UTC offset (e.g. 2026-01-01T00:00:00Z)")
        if self.to_at <= self.from_at:
            raise InvalidReport("to", "must be after from")
        if self.to_at - self.from_at > MAX_SPAN:
            raise InvalidReport("to", f"the window may span at most {MAX_SPAN.days} days")
        try:
            self.zone()
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidReport("timezone", "must be an IANA time zone name") from None

    @property
    def filename(self) -> str:
        day = "%Y%m%d"
        return (f"{self.kind}-by-{self.group_by}-{self.from_at.strftime(day)}-"
                f"{self.to_at.strftime(day)}.{self.format}")


class ReportInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A report as stored: its request, where it stands, and (when done) a preview of its rows."""

    id: UUID
    spec: ReportSpec
    status: ReportStatus
    progress: int
    created_at: datetime
    requested_by: UUID | None = None
    source_rows: int | None = None
    row_count: int | None = None
    columns: list[str] | None = None
    preview: list[list[Any]] | None = None
    error: str | None = None
    finished_at: datetime | None = None


class ReportFile(msgspec.Struct, frozen=True):
    """A finished report's bytes and how to serve them."""

    content: bytes
    filename: str
    content_type: str
