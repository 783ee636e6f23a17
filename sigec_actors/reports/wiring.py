"""A node's reports: the service the REST routes call, the jobs' deps, the takeover sweep."""

from __future__ import annotations

import contextlib
from uuid import UUID

from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool
from sigec_actors.reports.actor import JobDeps, ReportJob
from sigec_actors.reports.model import ReportFile, ReportInfo, ReportSpec
from sigec_actors.reports.ports import ReportSource
from sigec_actors.reports.sources import PgSource
from sigec_actors.reports.store import PgReports
from sigec_actors.runtime import ChildExists, ChildSpec, Restart, SupervisorAt

EXTRAS_KEY = "reports"
SWEEP_S = 30.0  # how often a node looks for reports whose node went away
STALE_S = 120.0  # a running report without progress for this long is taken over
KEEP_DAYS = 90  # finished reports (and their files) are deleted after this many days


class ReportService:
    """What the REST routes use: request a report (a job starts on this node), read it."""

    def __init__(self, store: PgReports, supervisor: SupervisorAt, deps: JobDeps) -> None:
        self._store = store
        self._supervisor = supervisor
        self._deps = deps

    async def request(self, spec: ReportSpec, requested_by: UUID | None) -> UUID:
        """Store the request and start its job; raises InvalidReport for a bad spec."""
        spec.check()
        report_id = await self._store.create(spec, requested_by, self._deps.node)
        await self.run(report_id)
        return report_id

    async def run(self, report_id: UUID) -> None:
        """Start the job of a stored report under the node's reports supervisor."""
        deps = self._deps
        spec = ChildSpec(key=str(report_id), factory=lambda: ReportJob(report_id, deps),
                         restart=Restart.TRANSIENT, kind=ReportJob.__name__,
                         shutdown_timeout_s=2.0, mailbox_size=4)
        with contextlib.suppress(ChildExists):  # already running here
            await self._supervisor.start_child(spec)

    async def get(self, report_id: UUID) -> ReportInfo | None:
        return await self._store.get(report_id)

    async def page(self, limit: int, offset: int) -> tuple[list[ReportInfo], int]:
        return await self._store.page(limit, offset)

    async def file(self, report_id: UUID) -> ReportFile | None:
        return await self._store.file(report_id)


class ReportsWiring:
    """Builds the node's report objects; `start` runs the sweep that takes over the reports of
    a node that died (left queued or running with no progress for STALE_S) and deletes those
    finished more than KEEP_DAYS ago."""

    def __init__(self, pool: DbPool, supervisor: SupervisorAt, node: str, *,
                 source: ReportSource | None = None, stale_s: float = STALE_S) -> None:
        """`source` replaces the PostgreSQL rows (tests); `stale_s`: see STALE_S."""
        self.store = PgReports(pool)
        self.stale_s = stale_s
        self.deps = JobDeps(self.store, source or PgSource(pool), node)
        self.service = ReportService(self.store, supervisor, self.deps)
        self._jobs = Jobs()

    def start(self) -> None:
        self._jobs.spawn("reports-takeover", every(SWEEP_S, self.take_over,
                                                   job="reports-takeover", first_after_s=5.0))

    async def take_over(self) -> list[UUID]:
        """One round of the sweep: delete expired reports, run the ones a dead node left."""
        await self.store.prune(KEEP_DAYS)
        taken = await self.store.take_stale(self.deps.node, self.stale_s)
        for report_id in taken:
            await self.service.run(report_id)
        return taken

    async def stop(self) -> None:
        await self._jobs.stop()
