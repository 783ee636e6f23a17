"""What the REST layer needs from the live node: command channel, live station view, actors."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot


class StationCommander(Protocol):
    """Sends one typed OCPP request to a connected station and returns its typed answer.

    Raises the errors of api.commands: CommandOffline, CommandTimeout, CommandBusy,
    CommandRejected (the station answered CALLERROR), CommandNotAllowed (the charge point's
    state refuses it). The node adapts the charge point's own errors to these.
    """

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct: ...


class LiveConnector(msgspec.Struct, frozen=True, rename="camel"):
    evse_id: int
    connector_id: int
    status: str


class FirmwareState(msgspec.Struct, frozen=True, rename="camel"):
    """The last FirmwareStatusNotification a station sent."""

    status: str
    request_id: int | None
    updated_at: datetime


class LiveStatus(msgspec.Struct, frozen=True, rename="camel"):
    """What the node holding a station's connection knows right now."""

    online: bool
    last_seen: datetime | None = None
    connectors: tuple[LiveConnector, ...] = ()
    firmware: FirmwareState | None = None


class LiveStations(Protocol):
    """Live state of stations (the ChargePoint actors), beyond what PostgreSQL stores."""

    async def status(self, station_id: str) -> LiveStatus | None:
        """The live state, or None when no node holds a connection for the station."""
        ...


class ActorsView(Protocol):
    """The operator's view of the actor tree (sigec_actors.node_actors.NodeActorsView)."""

    def snapshot(self) -> ActorSnapshot:
        """This node's tree (metrics read mailbox depths and restarts from it)."""
        ...

    async def tree(self) -> msgspec.Struct:
        """The tree an operator sees: the whole cluster's when there is one."""
        ...

    async def detail(self, path: str) -> ActorDetail:
        """The actor at `path` with its recent messages; raises ActorNotFound."""
        ...

    async def restart(self, path: str, *, by: str | None = None) -> None:
        """Restart the actor at `path`; raises ActorNotFound."""
        ...

    async def stop(self, path: str, *, by: str | None = None) -> None:
        """Stop the actor at `path`; raises ActorNotFound."""
        ...
