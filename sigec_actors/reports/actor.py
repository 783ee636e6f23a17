"""The ReportJob actor: claims its report, streams the rows, renders the file, stores it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, assert_never
from uuid import UUID

import msgspec

from sigec_actors.reports.aggregate import Aggregator, UptimeAggregator
from sigec_actors.reports.model import ReportKind, ReportSpec
from sigec_actors.reports.ports import ReportSource, ReportStore
from sigec_actors.reports.render import render
from sigec_actors.runtime import Actor, ExitReason


def utcnow() -> datetime:
    return datetime.now(UTC)


class Run(msgspec.Struct, frozen=True):
    """Compute the report (the job's one message, sent to itself once claimed)."""


ReportJobMsg = Run


def percent(seen: int, total: int) -> int:
    """Progress while streaming: 0..99 (100 only once the file is stored)."""
    return 0 if total <= 0 else min(99, seen * 100 // total)


@dataclass(frozen=True, slots=True)
class JobDeps:
    """What every ReportJob of a node needs (built once, see wiring.py)."""

    store: ReportStore
    source: ReportSource
    node: str
    max_attempts: int = 3
    progress_every_s: float = 2.0  # also the heartbeat that keeps other nodes off the report
    # jobs running at once on a node: each holds one connection of the node's pool while it
    # streams, and the stations' writes need the others; the rest wait (queued) for a slot
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic


class ReportJob(Actor[ReportJobMsg]):
    """One report. Transient: a crash restarts it from the start (a new attempt, at most
    `max_attempts`), a finished job stops for good. Memory is one batch plus the groups."""

    __slots__ = ("_deps", "_id", "_seen", "_spec", "_total")

    def __init__(self, report_id: UUID, deps: JobDeps) -> None:
        self._id = report_id
        self._deps = deps
        self._spec: ReportSpec | None = None
        self._seen = self._total = 0

    async def on_start(self) -> None:
        self.ctx.self_ref.tell(Run())

    async def receive(self, msg: ReportJobMsg) -> Any:
        match msg:
            case Run():
                async with self._deps.slots:  # the report stays queued until a slot frees
                    self._spec = await self._deps.store.claim(self._id, self._deps.node,
                                                              self._deps.max_attempts)
                    if self._spec is not None:  # else done, failed, out of attempts or taken
                        await self._run(self._spec)
                self.ctx.stop()
            case _:
                assert_never(msg)

    async def on_stop(self, reason: ExitReason) -> None:
        if reason.error is not None:
            await self._deps.store.note_error(
                self._id, f"{type(reason.error).__name__}: {reason.error}")

    def state_summary(self) -> str:
        spec = self._spec
        head = "waiting" if spec is None else f"{spec.kind}/{spec.group_by}/{spec.format}"
        return f"{head} {self._seen}/{self._total} rows"

    async def _run(self, spec: ReportSpec) -> None:
        deps = self._deps
        started = deps.clock()
        agg = (UptimeAggregator(spec, started) if spec.kind is ReportKind.UPTIME
               else Aggregator(spec))
        last = deps.monotonic()
        async with deps.source.open(spec) as (total, batches):
            self._total = total
            await deps.store.progress(self._id, 0, total)
            async for batch in batches:
                for record in batch:
                    agg.add(record)
                self._seen = agg.seen
                if deps.monotonic() - last >= deps.progress_every_s:
                    last = deps.monotonic()
                    await deps.store.progress(self._id, percent(agg.seen, total), total)
        table = agg.table()
        # rendering a PDF is CPU work: off the node's event loop, which serves the stations
        file = await asyncio.to_thread(render, spec, table, started)
        await deps.store.finish(self._id, table, file.content, deps.clock())
        self.ctx.log.info("report_done", report=str(self._id), rows=len(table.rows),
                          source_rows=agg.seen, bytes=len(file.content))
