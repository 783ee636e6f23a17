"""Builds a node's firmware jobs: actors, their station hooks, leases and cross-node reports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.adapters.pg_firmware import PgJobStore
from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.alerts.operator_rules import firmware_failed
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.config import FirmwareConfig
from sigec_actors.domain.errors import BusError
from sigec_actors.errors import SigecError
from sigec_actors.firmware.actor import JobDeps
from sigec_actors.firmware.campaign import Campaign
from sigec_actors.firmware.campaign_store import PgCampaignStore
from sigec_actors.firmware.jobs import FirmwareJobs
from sigec_actors.firmware.messages import UpdateAnswered
from sigec_actors.firmware.service import FirmwareService
from sigec_actors.firmware.state import JobPolicy, JobState
from sigec_actors.jobs import Jobs, every
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import BusMessage, DbPool, EventBus, Subscription
from sigec_actors.runtime import ActorDead, MailboxFull, SupervisorAt
from sigec_actors.transactions.ports import Commander

log = structlog.get_logger("firmware")
REPORTS = "sigec.firmware.reports"
EXTRAS_KEY = "firmware"
"""AppContext.extras: the node's FirmwareService (a FirmwareControl)."""
_STATUSES = frozenset(s.value for s in v201.FirmwareStatusEnum)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Forwarded(msgspec.Struct, frozen=True, omit_defaults=True):
    """A station report that no job of the receiving node took, for the other nodes."""

    station_id: str
    at: datetime
    origin: str
    status: str | None = None  # FirmwareStatusNotification
    request_id: int | None = None
    boot_reason: str | None = None  # BootNotification
    version: str | None = None


class UpdateThrough:
    """UpdateSender through the node's command channel (any node holding the station);
    `commander` is looked up at each use (the node builds its router after its jobs)."""

    def __init__(self, commander: Callable[[], Commander], store: PgJobStore) -> None:
        self._commander = commander
        self._store = store

    async def update(self, state: JobState) -> UpdateAnswered:
        try:
            stored = await self._store.load(state.job_id)
        except DB_FAILURES as exc:  # not sent; tried again after resend_s
            return UpdateAnswered(error=f"storage: {type(exc).__name__}")
        if stored is None or stored.status is not state.status:  # cancelled meanwhile
            return UpdateAnswered(error="the job changed before UpdateFirmware was sent")
        request = v201.UpdateFirmwareRequest(request_id=state.request_id, firmware=v201.Firmware(
            location=state.location, retrieve_date_time=state.retrieve_at,
            install_date_time=state.install_at, signing_certificate=state.signing_certificate,
            signature=state.signature))
        try:
            answer = await self._commander().send(state.station_id, request)
        except (SigecError, ActorDead, MailboxFull) as exc:  # offline, timeout, CALLERROR
            return UpdateAnswered(error=f"{type(exc).__name__}: {exc}")
        assert isinstance(answer, v201.UpdateFirmwareResponse)
        return UpdateAnswered(status=answer.status.value)


class PgJobAlerts:
    """JobAlerts on the node's Alerts (one open alert per failed job / stopped campaign)."""

    def __init__(self, alerts: Alerts | None) -> None:
        self._alerts = alerts

    async def failed(self, state: JobState, reason: str) -> None:
        """The operator rule's own alert (alerts.operator_rules, fed by firmware.update.failed
        too): the same kind and dedupe key, so whichever opens first, there is one alert."""
        alert = firmware_failed({"jobId": str(state.job_id), "chargePointId": state.station_id,
                                 "requestId": state.request_id, "version": state.version,
                                 "error": reason})
        if self._alerts is not None and alert is not None:
            await self._alerts.open(alert)

    async def campaign_stopped(self, campaign: Campaign) -> None:
        if self._alerts is not None:
            await self._alerts.open(NewAlert(
                severity=Severity.CRITICAL, kind="firmware_campaign_stopped",
                message=f"firmware campaign {campaign.campaign_id} stopped: "
                        f"{campaign.stop_reason}",
                dedupe_key=f"firmware-campaign:{campaign.campaign_id}",
                details={"campaignId": str(campaign.campaign_id),
                         "version": campaign.version}))


class FirmwareWiring:
    """The node's firmware objects; `register` hooks them to the charge points."""

    def __init__(self, pool: DbPool, cfg: FirmwareConfig, supervisor: SupervisorAt, *,
                 commander: Callable[[], Commander], bus: EventBus, node: str,
                 alerts: Alerts | None = None, subject: str = REPORTS) -> None:
        self.cfg = cfg
        self.store = PgJobStore(pool)
        self.node = node
        policy = JobPolicy(cfg.request_timeout_s, cfg.resend_s, cfg.download_timeout_s,
                           cfg.install_timeout_s, cfg.boot_timeout_s, cfg.max_backoff_s)
        job_alerts = PgJobAlerts(alerts)
        self.jobs = FirmwareJobs(supervisor, JobDeps(
            self.store, UpdateThrough(commander, self.store), job_alerts, node, policy,
            cfg.tick_s), cfg.lease_s)
        self.service = FirmwareService(
            self.store, PgCampaignStore(pool), self.jobs, job_alerts, clock=utcnow,
            lease_s=cfg.lease_s, campaign_tick_s=cfg.campaign_tick_s)
        self._bus, self._subject = bus, subject
        self._sub: Subscription | None = None
        self._jobs = Jobs()
        self._tasks: set[asyncio.Task[Any]] = set()

    def register(self, handlers: StationHandlers) -> None:
        """Watch the station messages a job needs; answer PublishFirmwareStatusNotification."""
        handlers.watch(v201.FirmwareStatusNotificationRequest, self._status)
        handlers.watch(v201.BootNotificationRequest, self._boot)
        handlers.handle(v201.PublishFirmwareStatusNotificationRequest, self._publish_status)

    async def serve(self) -> None:
        """Take cross-node reports, resume this node's jobs and keep its leases."""
        self._sub = await self._bus.subscribe(self._subject, self._forwarded)
        await self.claim()
        self._jobs.spawn("firmware-claim", every(self.cfg.claim_interval_s, self.claim,
                                                 job="firmware-claim"))

    async def claim(self) -> None:
        now = utcnow()
        await self.jobs.claim(now)
        await self.service.claim_campaigns(now)

    async def aclose(self) -> None:
        await self._jobs.stop()
        if self._sub is not None:
            await self._sub.unsubscribe()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the charge points' hooks (never block) -------------------------------------------

    def _status(self, station_id: str, req: v201.FirmwareStatusNotificationRequest) -> None:
        at = utcnow()
        if not self.jobs.report(station_id, req.request_id, req.status, at):
            self._forward(Forwarded(station_id, at, self.node, status=req.status.value,
                                    request_id=req.request_id))

    def _boot(self, station_id: str, req: v201.BootNotificationRequest) -> None:
        at, version = utcnow(), req.charging_station.firmware_version
        if not self.jobs.booted(station_id, req.reason.value, version, at):
            self._forward(Forwarded(station_id, at, self.node, boot_reason=req.reason.value,
                                    version=version))

    async def _publish_status(self, station_id: str,
                              req: v201.PublishFirmwareStatusNotificationRequest,
                              ) -> v201.PublishFirmwareStatusNotificationResponse:
        await self.store.record_publication(station_id, req.request_id or 0, req.status.value,
                                            req.location or ())
        return v201.PublishFirmwareStatusNotificationResponse()

    def _forward(self, msg: Forwarded) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, msg: Forwarded) -> None:
        try:
            await self._bus.publish(self._subject, msgspec.json.encode(msg))
        except BusError as exc:  # the job's phase deadline covers a lost report
            log.warning("firmware.forward_failed", station=msg.station_id, error=repr(exc))

    async def _forwarded(self, msg: BusMessage) -> bytes | None:
        try:
            body = msgspec.json.decode(msg.data, type=Forwarded)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("firmware.bad_forward", error=str(exc))
            return None
        if body.origin == self.node:
            return None
        if body.status in _STATUSES:
            self.jobs.report(body.station_id, body.request_id,
                             v201.FirmwareStatusEnum(body.status), body.at)
        elif body.boot_reason is not None:
            self.jobs.booted(body.station_id, body.boot_reason, body.version, body.at)
        return None
