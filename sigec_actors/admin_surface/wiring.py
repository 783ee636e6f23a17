"""Wires the operator surface into a node: tariff admin and dashboard for REST, the node's
summary reports and the alert rules as background jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from api.context import AppContext
from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.admin_surface.cluster_metrics import ClusterMetrics, Family, families
from sigec_actors.admin_surface.dashboard import PgDashboard
from sigec_actors.admin_surface.nodes import NodeReporter, PgNodeReports, live_summary
from sigec_actors.admin_surface.stations import PgStationDetails
from sigec_actors.alerts.ports import Alerts
from sigec_actors.alerts.rule_runner import AlertRules
from sigec_actors.config import Settings
from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool, EventBus
from sigec_actors.runtime import ActorSystem
from sigec_actors.services.metrics import Metrics
from sigec_actors.tariffs.store import PgTariffAdmin

log = structlog.get_logger("operator")
TARIFFS_KEY = "tariffs.admin"  # api.routes.tariffs.EXTRAS_KEY
DASHBOARD_KEY = "dashboard"  # api.routes.dashboard.EXTRAS_KEY
METRICS_KEY = "metrics.cluster"  # api.routes.metrics.EXTRAS_KEY
STATION_DETAILS_KEY = "stations.details"  # api.routes.station_admin.EXTRAS_KEY
FRESH_REPORTS = 3  # a node missing this many reports is left off the dashboard


class OperatorWiring:
    """One node's part of the operator surface."""

    def __init__(self, pool: DbPool, settings: Settings, actors: ActorSystem, alerts: Alerts,
                 bus: EventBus, clock: Callable[[], datetime], metrics: Metrics) -> None:
        node = actors.name
        op = settings.operator
        reports = PgNodeReports(pool)
        self.node = node
        self.metrics = metrics
        self._reports = reports
        self._clock = clock
        self.cluster_metrics = ClusterMetrics(node, bus, self._fresh_nodes)
        self._tree = actors.snapshot
        self.tariffs = PgTariffAdmin(pool)
        self.station_details = PgStationDetails(pool)
        self.dashboard = PgDashboard(pool, op.timezone, op.node_report_s * FRESH_REPORTS)
        self.reporter = NodeReporter(node, reports, lambda: live_summary(actors), clock)
        self.rules = AlertRules(pool, alerts, settings, clock)
        self._bus = bus
        self._op = op
        self._jobs = Jobs()

    def fill(self, ctx: AppContext) -> None:
        ctx.extras[TARIFFS_KEY] = self.tariffs
        ctx.extras[DASHBOARD_KEY] = self.dashboard
        ctx.extras[METRICS_KEY] = self.cluster_metrics
        ctx.extras[STATION_DETAILS_KEY] = self.station_details

    async def start(self) -> None:
        await self.reporter.start()
        self._jobs.spawn("node-report", every(self._op.node_report_s, self.reporter.tick,
                                              job="node-report", first_after_s=0.0))
        self._jobs.spawn("alert-rules", every(self._op.rules_interval_s, self.rules.sweep,
                                              job="alert-rules"))
        await self.rules.listen(self._bus)
        await self.cluster_metrics.serve(self._local_metrics)

    async def _fresh_nodes(self) -> list[str]:
        """The nodes to ask for their metrics; none but this one while the database is away
        (a scrape must still answer then)."""
        since = self._clock() - timedelta(seconds=self._op.node_report_s * FRESH_REPORTS)
        try:
            return await self._reports.fresh(since)
        except DB_FAILURES as exc:
            log.warning("metrics_nodes_unknown", error=type(exc).__name__)
            return []

    async def _local_metrics(self) -> list[Family]:
        """This node's families after its scrape hooks ran (what its own /metrics shows)."""
        self.metrics.observe_actors(self._tree())
        await self.metrics.refresh()
        self.metrics.render()  # runs the synchronous scrape hooks
        return families(self.metrics.registry, self.node)

    async def aclose(self) -> None:
        await self._jobs.stop()
        await self.rules.close()
        await self.cluster_metrics.close()
