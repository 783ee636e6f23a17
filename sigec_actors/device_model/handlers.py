"""Station -> CSMS device-model messages answered through StationHandlers, and the
FullInventory a station is asked for on its first boot."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.errors import CommandError
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.device_model import model
from sigec_actors.device_model.model import RequestKind
from sigec_actors.device_model.ports import DeviceModelStore
from sigec_actors.device_model.rules import EventAlertRules, event_alert
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.runtime import ActorDead, MailboxFull

log = structlog.get_logger("device_model")

Send = Callable[[str, msgspec.Struct], Awaitable[msgspec.Struct]]
NOT_SENT = "NotSent"  # a first-boot request that never reached the station: asked again


def request_ids() -> Callable[[], int]:
    """OCPP requestIds for the node's own requests: a counter from a random start."""
    return itertools.count(secrets.randbelow(2**30) + 1).__next__


class StationSide:
    """Stores what stations report; each method answers one request type."""

    def __init__(self, store: DeviceModelStore, clock: Callable[[], datetime], *,
                 alerts: Alerts | None = None,
                 rules: EventAlertRules | None = None) -> None:
        self._store = store
        self._clock = clock
        self._alerts = alerts
        self._rules = rules or EventAlertRules()

    def register(self, handlers: StationHandlers) -> None:
        """Answer NotifyReport, NotifyMonitoringReport, NotifyEvent, LogStatusNotification and
        NotifyCustomerInformation through `handlers`."""
        handlers.handle(m.NotifyReportRequest, self.notify_report)
        handlers.handle(m.NotifyMonitoringReportRequest, self.notify_monitoring_report)
        handlers.handle(m.NotifyEventRequest, self.notify_event)
        handlers.handle(m.LogStatusNotificationRequest, self.log_status)
        handlers.handle(m.NotifyCustomerInformationRequest, self.notify_customer_information)

    async def notify_report(self, station_id: str,
                            req: m.NotifyReportRequest) -> m.NotifyReportResponse:
        # the model first: a part stored without its rows would never be applied on a retry
        rows = model.report_rows(req.report_data or ())
        await self._store.put_variables(station_id, rows, self._clock())
        await self._store.add_part(station_id, model.report_part(req))
        if not req.tbc:
            await self._replace(station_id, RequestKind.REPORT, req.request_id)
        return m.NotifyReportResponse()

    async def notify_monitoring_report(
            self, station_id: str,
            req: m.NotifyMonitoringReportRequest) -> m.NotifyMonitoringReportResponse:
        rows = model.monitor_rows(req.monitor or ())
        await self._store.put_monitors(station_id, rows, self._clock())
        await self._store.add_part(station_id, model.monitoring_part(req))
        if not req.tbc:
            await self._replace(station_id, RequestKind.MONITORING, req.request_id)
        return m.NotifyMonitoringReportResponse()

    async def _replace(self, station_id: str, kind: RequestKind, request_id: int) -> None:
        """A complete FullInventory (or unfiltered monitoring report) replaces what was
        stored: variables and monitors it does not name are dropped."""
        view = await self._store.request(station_id, kind, request_id)
        if (view is None or not model.names_everything(kind, view.params)
                or not model.complete(view.parts)):
            return
        if kind is RequestKind.REPORT:
            await self._store.keep_only(station_id, keys=model.reported_keys(view.parts))
        else:
            await self._store.keep_only(station_id,
                                        monitor_ids=model.reported_monitors(view.parts))

    async def notify_event(self, station_id: str,
                           req: m.NotifyEventRequest) -> m.NotifyEventResponse:
        stored = await self._store.add_events(station_id, model.event_rows(req))
        # stored first; a retry (this answer lost, or an alert not opened) opens the alerts
        # again: one per cause while unresolved (the dedupe key), none lost
        for event in stored:
            alert = event_alert(station_id, event, self._rules)
            if alert is not None and self._alerts is not None:
                await self._alerts.open(alert)
        return m.NotifyEventResponse()

    async def log_status(self, station_id: str, req: m.LogStatusNotificationRequest
                         ) -> m.LogStatusNotificationResponse:
        await self._store.log_status(station_id, req.request_id, req.status.value,
                                     self._clock())
        return m.LogStatusNotificationResponse()

    async def notify_customer_information(
            self, station_id: str,
            req: m.NotifyCustomerInformationRequest) -> m.NotifyCustomerInformationResponse:
        await self._store.add_part(station_id, model.customer_part(req))
        return m.NotifyCustomerInformationResponse()


class FirstBootInventory:
    """Watches BootNotification: a station never asked for a report gets GetBaseReport
    FullInventory (sent by the node, not audited as a user's command)."""

    def __init__(self, store: DeviceModelStore, send: Callable[[], Send],
                 clock: Callable[[], datetime], ids: Callable[[], int] | None = None) -> None:
        self._store = store
        self._send = send
        self._clock = clock
        self._ids = ids or request_ids()
        self._tasks: set[asyncio.Task[str | None]] = set()

    def register(self, handlers: StationHandlers) -> None:
        handlers.watch(m.BootNotificationRequest, self.booted)

    def booted(self, station_id: str, req: m.BootNotificationRequest) -> None:
        task = asyncio.get_running_loop().create_task(self.ask(station_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ask(self, station_id: str) -> str | None:
        """Send the request if the station was never asked; its status, None if not asked."""
        request_id = self._ids()
        try:
            if not await self._store.first_inventory(station_id, request_id, self._clock()):
                return None
        except (*DB_FAILURES, UnknownStation) as exc:  # type: ignore[misc]  # e.g. a rejected (unknown) station
            log.info("device_model.first_inventory_skipped", station=station_id,
                     error=type(exc).__name__)
            return None
        request = m.GetBaseReportRequest(request_id=request_id,
                                         report_base=m.ReportBaseEnum.FULL_INVENTORY)
        try:
            answer = await self._send()(station_id, request)
            status = str(getattr(answer, "status", NOT_SENT))
        except (CommandError, ActorDead, MailboxFull) as exc:  # asked again on its next boot
            log.info("device_model.first_inventory_not_sent", station=station_id,
                     error=type(exc).__name__)
            status = NOT_SENT
        try:
            await self._store.answered(station_id, RequestKind.REPORT, request_id, status)
        except DB_FAILURES as exc:
            log.warning("device_model.first_inventory_unrecorded", station=station_id,
                        error=type(exc).__name__)
        return status

    async def idle(self) -> None:
        """Wait for the requests under way (tests, shutdown)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
