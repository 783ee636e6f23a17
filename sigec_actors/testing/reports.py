"""InMemoryReports: the report routes' port without PostgreSQL or actors (API tests)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from uuid import UUID

from sigec_actors.reports.model import ReportFile, ReportInfo, ReportSpec, ReportStatus
from sigec_actors.reports.ports import Opened, ReportSource


class InMemoryReports:
    """Stores requests as queued reports; `finish` makes one downloadable."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self.reports: dict[UUID, ReportInfo] = {}
        self.files: dict[UUID, ReportFile] = {}

    async def request(self, spec: ReportSpec, requested_by: UUID | None) -> UUID:
        spec.check()
        report_id = uuid.uuid4()
        self.reports[report_id] = ReportInfo(id=report_id, spec=spec, status=ReportStatus.QUEUED,
                                             progress=0, created_at=self._clock(),
                                             requested_by=requested_by)
        return report_id

    async def get(self, report_id: UUID) -> ReportInfo | None:
        return self.reports.get(report_id)

    async def page(self, limit: int, offset: int) -> tuple[list[ReportInfo], int]:
        newest = sorted(self.reports.values(), key=lambda r: r.created_at, reverse=True)
        return newest[offset:offset + limit], len(newest)

    async def file(self, report_id: UUID) -> ReportFile | None:
        return self.files.get(report_id)


class FlakySource:
    """A ReportSource whose first `failures` opens raise (a crashing job), then `inner`'s."""

    def __init__(self, inner: ReportSource, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.opened = 0

    def open(self, spec: ReportSpec) -> AbstractAsyncContextManager[Opened]:
        self.opened += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("report source failed (test)")
        return self.inner.open(spec)
