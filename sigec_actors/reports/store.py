"""PostgreSQL rows of the reports: created queued, claimed by a job, progress, file or error."""
# ruff: noqa: S608 -- every query here is built from this module's constants; values are $n

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.ports import DbPool
from sigec_actors.reports.aggregate import Table
from sigec_actors.reports.model import (
    PREVIEW_ROWS,
    GroupBy,
    ReportFile,
    ReportFormat,
    ReportInfo,
    ReportKind,
    ReportSpec,
    ReportStatus,
)
from sigec_actors.reports.render import CONTENT_TYPES

_COLUMNS = ("id, kind, group_by, format, from_at, to_at, timezone, status, progress, source_rows,"
            " row_count, preview, error, requested_by, created_at, finished_at")
_LISTED = _COLUMNS.replace("preview", "NULL AS preview")  # a page of reports: no rows
_UNFINISHED = "status IN ('queued', 'running')"


def spec_of(row: Any) -> ReportSpec:
    return ReportSpec(kind=ReportKind(row["kind"]), group_by=GroupBy(row["group_by"]),
                      format=ReportFormat(row["format"]), from_at=row["from_at"],
                      to_at=row["to_at"], timezone=row["timezone"])


def info_of(row: Any) -> ReportInfo:
    preview = row["preview"] or {}  # the pool decodes jsonb
    return ReportInfo(
        id=row["id"], spec=spec_of(row), status=ReportStatus(row["status"]),
        progress=row["progress"], created_at=row["created_at"],
        requested_by=row["requested_by"], source_rows=row["source_rows"],
        row_count=row["row_count"], columns=preview.get("columns"), preview=preview.get("rows"),
        error=row["error"], finished_at=row["finished_at"])


class PgReports:
    """The `reports` table. A job claims its row (attempts + 1) before it runs; a row left
    queued or running without progress for a while is taken over by a node's sweep."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, spec: ReportSpec, requested_by: UUID | None, node: str) -> UUID:
        async with self._pool.acquire() as conn:
            return UUID(str(await conn.fetchval(
                "INSERT INTO reports (kind, group_by, format, from_at, to_at, timezone,"
                " requested_by, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                spec.kind.value, spec.group_by.value, spec.format.value, spec.from_at,
                spec.to_at, spec.timezone, requested_by, node)))

    async def get(self, report_id: UUID) -> ReportInfo | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM reports WHERE id = $1", report_id)
        return None if row is None else info_of(row)

    async def page(self, limit: int, offset: int) -> tuple[list[ReportInfo], int]:
        """Reports newest first, without their rows, and how many there are."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_LISTED} FROM reports"
                " ORDER BY created_at DESC, id LIMIT $1 OFFSET $2", limit, offset)
            total = await conn.fetchval("SELECT count(*) FROM reports")
        return [info_of(r) for r in rows], int(total)

    async def file(self, report_id: UUID) -> ReportFile | None:
        """The finished report's file (None while it is not done)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS}, file FROM reports WHERE id = $1 AND status = 'done'",
                report_id)
        if row is None:
            return None
        spec = spec_of(row)
        return ReportFile(bytes(row["file"]), spec.filename, CONTENT_TYPES[spec.format])

    async def claim(self, report_id: UUID, node: str, max_attempts: int) -> ReportSpec | None:
        """Mark the report running on `node` (one more attempt): a queued one, or one running
        on `node` (its job crashed and restarts, or the node took it over). None when it is
        finished, runs on another node, or has used its attempts (then it is failed here)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"UPDATE reports SET status = 'running', attempts = attempts + 1, node = $2,"
                f" progress = 0, started_at = coalesce(started_at, now())"
                " WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND node = $2))"
                f" RETURNING {_COLUMNS}, attempts",
                report_id, node)
        if row is None:
            return None
        if row["attempts"] > max_attempts:
            await self.fail(report_id, f"gave up after {max_attempts} attempts"
                            + (f"; last error: {row['error']}" if row["error"] else ""))
            return None
        return spec_of(row)

    async def progress(self, report_id: UUID, percent: int, source_rows: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"UPDATE reports SET progress = $2, source_rows = $3 WHERE id = $1"
                f" AND {_UNFINISHED}", report_id, percent, source_rows)

    async def finish(self, report_id: UUID, table: Table, content: bytes,
                     finished_at: datetime) -> None:
        preview = {"columns": table.columns, "rows": table.rows[:PREVIEW_ROWS]}
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE reports SET status = 'done', progress = 100, row_count = $2,"
                " preview = $3::jsonb, file = $4, finished_at = $5, error = NULL"
                f" WHERE id = $1 AND {_UNFINISHED}", report_id, len(table.rows),
                preview, content, finished_at)

    async def fail(self, report_id: UUID, error: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"UPDATE reports SET status = 'failed', error = $2, finished_at = now()"
                f" WHERE id = $1 AND {_UNFINISHED}", report_id, error[:500])

    async def take_stale(self, node: str, stale_s: float, limit: int = 20) -> list[UUID]:
        """Unfinished reports untouched for `stale_s` (their node died): now this node's."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "UPDATE reports SET node = $1 WHERE id IN (SELECT id FROM reports WHERE"
                f" {_UNFINISHED} AND updated_at < now() - make_interval(secs => $2)"
                " ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
                node, stale_s, limit)
        return [r["id"] for r in rows]

    async def prune(self, keep_days: float) -> int:
        """Delete reports finished more than `keep_days` ago (their files with them)."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM reports WHERE status IN ('done', 'failed')"
                " AND finished_at < now() - make_interval(days => $1::int)", int(keep_days))
        return int(status.split()[-1])

    async def note_error(self, report_id: UUID, error: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(f"UPDATE reports SET error = $2 WHERE id = $1 AND {_UNFINISHED}",
                               report_id, error[:500])
