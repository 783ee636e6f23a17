"""Adapters from the node's charge point side to the ports the REST layer depends on."""

from __future__ import annotations

from typing import Protocol

import msgspec
import structlog

from api.commands import (
    CommandBusy,
    CommandNotAllowed,
    CommandOffline,
    CommandRejected,
    CommandTimeout,
    request_caller,
)
from api.ports import FirmwareState, LiveConnector, LiveStatus
from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.charge_point import errors as cp
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.cluster.routing import LocalCommander as StationSender
from sigec_actors.domain.records import AuditEntry, Caller
from sigec_actors.ports import AuditLog
from sigec_actors.runtime import ActorDead, MailboxFull

log = structlog.get_logger("node.commands")

BUSY_RETRY_AFTER_S = 2


class Commander(Protocol):
    """Anything that can deliver a typed request to a station for a caller (local or routed)."""

    async def send(self, station_id: str, request: msgspec.Struct,
                   timeout_s: float | None = None, *, caller: Caller) -> msgspec.Struct: ...


class LocalCommander:
    """Commands for stations connected to this node, through their ChargePoint actors."""

    def __init__(self, sessions: StationSessions) -> None:
        self._sessions = sessions

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        """The cluster router's LocalCommander shape (auditing is AuditedCommands' job)."""
        from sigec_actors.charge_point.commands import send_command

        return await send_command(self._sessions, station_id, request, timeout_s)


class AuditedCommands:
    """The router's LocalCommander that audits what a user asked of a station on this node.

    One entry per command a `user` caller sent, whether it came from this node's REST API or
    over NATS from another node: actor = the caller's user id, action `command.<Action>`,
    target the station, details = role, result (`ok` or the error's name), the station's
    `status` when its answer has one, this node and the node that asked. Commands from the
    node's own jobs (`system` callers: CostUpdated, reservation expiry) are not audited.
    """

    def __init__(self, inner: StationSender, audit: AuditLog, node: str) -> None:
        self._inner = inner
        self._audit = audit
        self._node = node

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        try:
            response = await self._inner.send_command(station_id, request, timeout_s, caller,
                                                      origin)
        except (cp.CommandError, ActorDead, MailboxFull) as exc:
            await self._record(station_id, request, caller, origin, type(exc).__name__, None)
            raise
        status = getattr(response, "status", None)
        await self._record(station_id, request, caller, origin, "ok",
                           str(getattr(status, "value", status)) if status is not None else None)
        return response

    async def _record(self, station_id: str, request: msgspec.Struct, caller: Caller,
                      origin: str, result: str, status: str | None) -> None:
        if caller.actor_type != "user":
            return
        action = "command." + type(request).__name__.removesuffix("Request")
        details = {"role": caller.role, "result": result, "node": self._node, "origin": origin}
        if status is not None:
            details["status"] = status
        try:
            await self._audit.record(AuditEntry("user", action, caller.actor_id, "station",
                                                station_id, details, ip=caller.ip))
        except DB_FAILURES as exc:  # the station already acted: its answer still goes back
            log.error("command_audit_failed", station=station_id, action=action,
                      by=caller.actor_id, error=f"{type(exc).__name__}: {exc}")


class ApiCommander:
    """The REST StationCommander: sends for the request's caller (api.commands.acting_for) and
    maps the charge point's errors onto api.commands' errors."""

    def __init__(self, commander: Commander) -> None:
        self._commander = commander

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        caller = request_caller(station_id)
        try:
            return await self._commander.send(station_id, request, caller=caller)
        except cp.StationOffline as exc:
            raise CommandOffline(station_id) from exc
        except cp.CommandTimeout as exc:
            raise CommandTimeout(station_id, exc.timeout_s) from exc
        except (cp.StationBusy, MailboxFull) as exc:
            raise CommandBusy(station_id, BUSY_RETRY_AFTER_S) from exc
        except cp.CommandRejectedByState as exc:
            reason = f"station boot status is {exc.boot_status}"
            raise CommandNotAllowed(station_id, reason) from exc
        except cp.StationCallError as exc:
            raise CommandRejected(station_id, exc.code, exc.description) from exc
        except ActorDead as exc:
            # the station's actor restarted while the command waited: the outcome is unknown
            raise CommandOffline(station_id) from exc


class SessionsLiveView:
    """LiveStations from the ChargePoint actors connected to this node."""

    def __init__(self, sessions: StationSessions) -> None:
        self._sessions = sessions

    async def status(self, station_id: str) -> LiveStatus | None:
        view = await self._sessions.view(station_id)
        if view is None:
            return None
        firmware = (FirmwareState(status=view.firmware_status, request_id=None,
                                  updated_at=view.last_seen)
                    if view.firmware_status and view.last_seen else None)
        return LiveStatus(
            online=view.online, last_seen=view.last_seen,
            connectors=tuple(LiveConnector(c.evse_id, c.connector_id, c.status)
                             for c in view.connectors),
            firmware=firmware)
