"""RoutedSessions: the gateway's StationSessions, registering each accepted station for routing."""

from __future__ import annotations

from nats.aio.client import Client

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.cluster.routing import (
    LocalCommander,
    StationRouter,
    TakeoverHook,
    ignore_takeover,
)
from sigec_actors.config import Settings
from sigec_actors.ocpp.link import SessionSink, StationLink, StationSessions


class _RoutedSink:
    """Forwards frames; on close, lets the router know (only for the station's latest link)."""

    __slots__ = ("_owner", "_session", "_sink", "_station_id")

    def __init__(self, sink: SessionSink, owner: RoutedSessions, station_id: str,
                 session: int) -> None:
        self._sink = sink
        self._owner = owner
        self._station_id = station_id
        self._session = session

    async def on_frame(self, data: str | bytes) -> None:
        await self._sink.on_frame(data)

    async def on_close(self, code: int | None, reason: str) -> None:
        try:
            await self._sink.on_close(code, reason)
        finally:
            await self._owner.closed(self._station_id, self._session)


class RoutedSessions:
    """Wraps the charge point side's StationSessions (pass this one to the OcppGateway).

    A station is attached to the router once its actor has the link (so a routed command
    finds it), and detached when its latest link on this node closes; a replaced link's late
    close does not detach the station.
    """

    def __init__(self, inner: StationSessions, router: StationRouter) -> None:
        self._inner = inner
        self._router = router
        self._latest: dict[str, int] = {}

    async def attach(self, link: StationLink) -> SessionSink:
        sink = await self._inner.attach(link)
        self._latest[link.station_id] = link.session
        await self._router.attach(link.station_id)
        return _RoutedSink(sink, self, link.station_id, link.session)

    async def closed(self, station_id: str, session: int) -> None:
        if self._latest.get(station_id) == session:
            del self._latest[station_id]
            await self._router.detach(station_id)


def nats_router(nc: Client, node: str, local: LocalCommander, settings: Settings,
                on_takeover: TakeoverHook = ignore_takeover) -> StationRouter:
    """The node's StationRouter on its NATS connection (subscriptions flushed on attach)."""
    return StationRouter(NatsEventBus(nc), node, local, flush=nc.flush,
                         default_timeout_s=settings.ocpp.call_timeout_s, on_takeover=on_takeover)
