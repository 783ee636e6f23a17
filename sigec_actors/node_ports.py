"""Adapters from the node's charge point side to the ports the REST layer depends on."""

from __future__ import annotations

from typing import Protocol

import msgspec

from api.commands import (
    CommandBusy,
    CommandNotAllowed,
    CommandOffline,
    CommandRejected,
    CommandTimeout,
)
from api.ports import FirmwareState, LiveConnector, LiveStatus
from sigec_actors.charge_point import errors as cp
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.runtime import ActorDead, MailboxFull

BUSY_RETRY_AFTER_S = 2


class Commander(Protocol):
    """Anything that can deliver a typed request to a station (local or routed)."""

    async def send(self, station_id: str, request: msgspec.Struct,
                   timeout_s: float | None = None) -> msgspec.Struct: ...


class LocalCommander:
    """Commands for stations connected to this node, through their ChargePoint actors."""

    def __init__(self, sessions: StationSessions) -> None:
        self._sessions = sessions

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None = None) -> msgspec.Struct:
        """The cluster router's LocalCommander shape."""
        from sigec_actors.charge_point.commands import send_command

        return await send_command(self._sessions, station_id, request, timeout_s)

    async def send(self, station_id: str, request: msgspec.Struct,
                   timeout_s: float | None = None) -> msgspec.Struct:
        return await self.send_command(station_id, request, timeout_s)


class ApiCommander:
    """The REST StationCommander: maps the charge point's errors onto api.commands' errors."""

    def __init__(self, commander: Commander) -> None:
        self._commander = commander

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        try:
            return await self._commander.send(station_id, request)
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
