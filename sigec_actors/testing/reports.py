"""Report fakes: InMemoryReports (the routes' port, API tests) and sources/stores for jobs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

from sigec_actors.reports.aggregate import Table
from sigec_actors.reports.model import ReportFile, ReportInfo, ReportSpec, ReportStatus
from sigec_actors.reports.ports import Opened, ReportSource, ReportStore


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


class RecordingStore:
    """A ReportStore that notes each progress write, then hands every call to `inner`."""

    def __init__(self, inner: ReportStore) -> None:
        self.inner = inner
        self.progress_seen: list[tuple[int, int]] = []  # (percent, source rows)

    async def claim(self, report_id: UUID, node: str, max_attempts: int) -> ReportSpec | None:
        return await self.inner.claim(report_id, node, max_attempts)

    async def progress(self, report_id: UUID, percent: int, source_rows: int) -> None:
        self.progress_seen.append((percent, source_rows))
        await self.inner.progress(report_id, percent, source_rows)

    async def finish(self, report_id: UUID, table: Table, content: bytes,
                     finished_at: datetime) -> None:
        await self.inner.finish(report_id, table, content, finished_at)

    async def note_error(self, report_id: UUID, error: str) -> None:
        await self.inner.note_error(report_id, error)


class CountingSource:
    """A ReportSource that counts how many are open at once (holding each `hold_s` first)."""

    def __init__(self, inner: ReportSource, hold_s: float = 0.05) -> None:
        self.inner = inner
        self.hold_s = hold_s
        self.open_now = self.most_open = 0

    @asynccontextmanager
    async def open(self, spec: ReportSpec) -> AsyncIterator[Opened]:
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await asyncio.sleep(self.hold_s)
            async with self.inner.open(spec) as opened:
                yield opened
        finally:
            self.open_now -= 1
