"""The node's sites: charge-point events routed to the Site actor of their location."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import structlog

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.ocpp.generated.v201 import (
    MeterValue,
    SampledValue,
    TransactionEventEnum,
    TransactionEventRequest,
)
from sigec_actors.runtime import (
    ActorDead,
    ActorError,
    ActorRef,
    ChildExists,
    ChildSpec,
    MailboxFull,
    Restart,
    SupervisorAt,
)
from sigec_actors.smart_charging.site import (
    EvMaximum,
    Metered,
    Presence,
    SessionEnded,
    SessionSeen,
    SiteEvent,
)
from sigec_actors.smart_charging.site_actor import (
    GetLoad,
    LoadView,
    Reload,
    Site,
    SiteDeps,
    SiteMsg,
)

log = structlog.get_logger("sites")
ROUTE_FAILURES: tuple[type[BaseException], ...] = (*STORAGE_FAILURES, ActorError)
IMPORT_POWER = "Power.Active.Import"
EXPORT_POWER = "Power.Active.Export"


def events_of(station_id: str, request: TransactionEventRequest) -> list[SiteEvent]:
    """What a stored TransactionEvent tells a site (pure)."""
    tx = request.transaction_info.transaction_id
    if request.event_type is TransactionEventEnum.ENDED:
        return [SessionEnded(station_id, tx)]
    events: list[SiteEvent] = []
    if request.evse is not None:
        events.append(SessionSeen(station_id, request.evse.id, tx))
    for mv in request.meter_value or ():
        imp, exp = power_of(mv)
        if imp is not None or exp is not None:
            events.append(Metered(station_id, tx, imp, exp))
    return events


def power_of(mv: MeterValue) -> tuple[int | None, int | None]:
    """(import W, export W) of one meterValue's totals, None where not sampled."""
    imp = exp = None
    for sv in mv.sampled_value:
        if sv.phase is not None or sv.measurand is None:
            continue
        if sv.measurand.value == IMPORT_POWER:
            imp = _watts(sv)
        elif sv.measurand.value == EXPORT_POWER:
            exp = _watts(sv)
    return imp, exp


def _watts(sv: SampledValue) -> int:
    value = sv.value
    unit = sv.unit_of_measure
    if unit is not None:
        if unit.unit == "kW":
            value *= 1000
        value *= 10 ** (unit.multiplier or 0)
    return round(value)


class LocationIndex:
    """Station -> location with a limit (None: no site), read once and kept until told."""

    def __init__(self, lookup: Any) -> None:
        self._lookup = lookup
        self._known: dict[str, UUID | None] = {}

    async def of(self, station_id: str) -> UUID | None:
        if station_id not in self._known:
            self._known[station_id] = await self._lookup(station_id)
        return self._known[station_id]

    def forget(self, station_id: str | None = None) -> None:
        """Read the station's location again (all stations' when None) at its next event."""
        if station_id is None:
            self._known.clear()
        else:
            self._known.pop(station_id, None)


class Sites:
    """Runs one Site actor per location under `/node-N/sites`, fed by the charge points.

    It is the charge points' TransactionMeterSink (next to the V2G sessions): each call puts
    the events on one queue and returns; a single task reads the station's location (cached)
    and tells its site, in order.
    """

    def __init__(self, supervisor: SupervisorAt, deps: SiteDeps, index: LocationIndex, *,
                 ended: Callable[[str, str], Awaitable[None]] | None = None) -> None:
        """`ended(station, transaction)` runs for every Ended (e.g. drop its stored
        TxProfiles), site or not."""
        self._supervisor = supervisor
        self._ended = ended
        self._deps = deps
        self.index = index
        self._queue: asyncio.Queue[tuple[str, SiteEvent]] = asyncio.Queue(maxsize=100_000)
        self._worker: asyncio.Task[None] | None = None

    # -- the charge points' hooks ---------------------------------------------------------

    def transaction_event(self, station_id: str, request: TransactionEventRequest) -> None:
        for event in events_of(station_id, request):
            self._put(station_id, event)

    def presence(self, station_id: str, online: bool) -> None:
        self._put(station_id, Presence(station_id, online))

    def ev_maximum(self, station_id: str, evse_id: int, max_w: int) -> None:
        self._put(station_id, EvMaximum(station_id, evse_id, max_w))

    # -- control --------------------------------------------------------------------------

    async def run(self, location_id: UUID) -> ActorRef[SiteMsg] | None:
        """The location's Site actor, started if needed (None: it has no limit)."""
        ref = self.ref(location_id)
        if ref is not None:
            return ref
        spec = ChildSpec(key=str(location_id), factory=lambda: Site(location_id, self._deps),
                         restart=Restart.TRANSIENT, kind="Site")
        try:
            ref = await self._supervisor.start_child(spec)
        except ChildExists:
            ref = self.ref(location_id)
        return ref if ref is not None and ref.alive else None

    def ref(self, location_id: UUID) -> ActorRef[SiteMsg] | None:
        ref = self._supervisor.child(str(location_id))
        return ref if ref is not None and ref.alive else None

    async def load(self, location_id: UUID) -> LoadView | None:
        """The site's load; None when the location has no limit."""
        if await self._deps.store.site(location_id) is None:
            return None
        ref = await self.run(location_id)
        try:
            view = None if ref is None else await ref.ask(GetLoad())
        except ActorDead:  # its limit was removed just now
            return None
        return view if isinstance(view, LoadView) else None

    async def limits_changed(self, location_id: UUID) -> None:
        """Its limits (or a station's external limit) changed: the site reads them again."""
        self.index.forget()
        ref = self.ref(location_id)
        if ref is not None:
            ref.tell(Reload())
        else:
            await self.run(location_id)

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._route())

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    # -- internals ------------------------------------------------------------------------

    def _put(self, station_id: str, event: SiteEvent) -> None:
        try:
            self._queue.put_nowait((station_id, event))
        except asyncio.QueueFull:
            log.warning("sites.event_dropped", station=station_id, event=type(event).__name__)

    async def _route(self) -> None:
        while True:
            station_id, event = await self._queue.get()
            try:
                await self._deliver(station_id, event)
            except ROUTE_FAILURES as exc:  # the next event tries again
                log.error("sites.route_failed", station=station_id, error=repr(exc))

    async def _deliver(self, station_id: str, event: SiteEvent) -> None:
        if isinstance(event, SessionEnded) and self._ended is not None:
            await self._ended(station_id, event.transaction_id)
        location = await self.index.of(station_id)
        if location is None:
            return
        ref = await self.run(location)
        if ref is None:
            return
        try:
            ref.tell(event)
        except (MailboxFull, ActorDead) as exc:
            log.warning("sites.tell_dropped", location=str(location), error=type(exc).__name__)


class MeterFanout:
    """Two TransactionMeterSinks told the same (the V2G sessions and the sites)."""

    __slots__ = ("_sinks",)

    def __init__(self, *sinks: Any) -> None:
        self._sinks = sinks

    def transaction_event(self, station_id: str, request: TransactionEventRequest) -> None:
        for sink in self._sinks:
            sink.transaction_event(station_id, request)

    def presence(self, station_id: str, online: bool) -> None:
        for sink in self._sinks:
            sink.presence(station_id, online)
