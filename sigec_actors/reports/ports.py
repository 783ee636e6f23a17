"""What a report job depends on: its row in storage and the rows it reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sigec_actors.reports.aggregate import Table
from sigec_actors.reports.model import ReportFile, ReportInfo, ReportSpec

Opened = tuple[int, AsyncIterator[list[Any]]]  # (rows to come, their batches)


class ReportStore(Protocol):
    async def claim(self, report_id: UUID, node: str, max_attempts: int) -> ReportSpec | None:
        """Mark the report running (one more attempt); None: nothing to do."""
        ...

    async def progress(self, report_id: UUID, percent: int, source_rows: int) -> None: ...
    async def finish(self, report_id: UUID, table: Table, content: bytes,
                     finished_at: datetime) -> None: ...
    async def note_error(self, report_id: UUID, error: str) -> None:
        """Keep the error of a crashed attempt (the next attempt may still succeed)."""
        ...


class ReportSource(Protocol):
    def open(self, spec: ReportSpec) -> AbstractAsyncContextManager[Opened]:
        """The row count and the row batches of one consistent snapshot."""
        ...


class Reports(Protocol):
    """What the REST routes use (ReportService on a node, InMemoryReports in API tests)."""

    async def request(self, spec: ReportSpec, requested_by: UUID | None) -> UUID:
        """Store the request and start its job; raises InvalidReport for a bad spec."""
        ...

    async def get(self, report_id: UUID) -> ReportInfo | None: ...
    async def page(self, limit: int, offset: int) -> tuple[list[ReportInfo], int]:
        """Reports newest first (without their rows) and how many there are."""
        ...

    async def file(self, report_id: UUID) -> ReportFile | None: ...
