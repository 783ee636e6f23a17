"""The node's sites: charge-point events routed to the Site actor of their location."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec
import structlog

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated.v201 import (
    MeterValue,
    SampledValue,
    TransactionEventEnum,
    TransactionEventRequest,
)
from sigec_actors.ports import BusMessage, EventBus, Subscription
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
from sigec_actors.smart_charging.owners import SiteLocks
from sigec_actors.smart_charging.site import (
    EvMaximum,
    Metered,
    Presence,
    SessionEnded,
    SessionSeen,
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
SUBJECT_PREFIX = "sigec.site"
Forwarded = SessionSeen | SessionEnded | Metered | Presence | EvMaximum | Reload
"""What one node tells another's site over the bus (`<prefix>.<locationId>`)."""
ROUTE_FAILURES: tuple[type[BaseException], ...] = (*STORAGE_FAILURES, ActorError)
IMPORT_POWER = "Power.Active.Import"
EXPORT_POWER = "Power.Active.Export"


def events_of(station_id: str, request: TransactionEventRequest) -> list[Forwarded]:
    """What a stored TransactionEvent tells a site (pure)."""
    tx = request.transaction_info.transaction_id
    if request.event_type is TransactionEventEnum.ENDED:
        return [SessionEnded(station_id, tx)]
    events: list[Forwarded] = []
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


LOAD_TIMEOUT_S = 5.0
SITE_MAILBOX = 10_000
"""A site's mailbox: every station's meter values queue there while it sends profiles."""
LOAD_TRIES = 100  # x 50 ms while the site's mailbox is full
INDEX_TTL_S = 30.0
"""How long a node trusts a station's location (a link made through another node)."""
RECLAIM_AFTER_S = 2.0
"""A site another node holds is not claimed again before this (its events are forwarded)."""


class SiteBusy(SigecError):
    """The site's mailbox stayed full while its load was asked (HTTP 503)."""

    def __init__(self, location_id: UUID) -> None:
        self.location_id = location_id
        super().__init__(f"site {location_id} is busy; retry shortly")


class LocationIndex:
    """Station -> location with a limit (None: no site), read again after `ttl_s` or when told:
    a link or a limit set through another node reaches this one within `ttl_s`."""

    def __init__(self, lookup: Callable[[str], Awaitable[UUID | None]],
                 ttl_s: float = INDEX_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._ttl_s = ttl_s
        self._clock = clock
        self._known: dict[str, tuple[UUID | None, float]] = {}

    async def of(self, station_id: str) -> UUID | None:
        known = self._known.get(station_id)
        now = self._clock()
        if known is None or known[1] <= now:
            known = (await self._lookup(station_id), now + self._ttl_s)
            self._known[station_id] = known
        return known[0]

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

    With `locks` and `bus` (a cluster), one node runs a site: the one holding its lock
    (SiteLocks). The others publish their stations' events on `<prefix>.<locationId>` and ask
    its load on `<prefix>.<locationId>.load`; a node finding the site unclaimed claims it.
    """

    def __init__(self, supervisor: SupervisorAt, deps: SiteDeps, index: LocationIndex, *,
                 ended: Callable[[str, str], Awaitable[None]] | None = None,
                 locks: SiteLocks | None = None, bus: EventBus | None = None,
                 prefix: str = SUBJECT_PREFIX, mailbox_size: int = SITE_MAILBOX) -> None:
        """`ended(station, transaction)` runs for every Ended (e.g. drop its stored
        TxProfiles), site or not."""
        self._supervisor = supervisor
        self._ended = ended
        self._mailbox = mailbox_size
        self._locks, self._bus, self._prefix = locks, bus, prefix
        self._subs: dict[UUID, list[Subscription]] = {}
        self._giving_up: set[asyncio.Task[None]] = set()
        self._elsewhere: dict[UUID, float] = {}  # location -> monotonic time to try again
        self._deps = deps
        self.index = index
        self._queue: asyncio.Queue[tuple[str, Forwarded]] = asyncio.Queue(maxsize=100_000)
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
                         restart=Restart.TRANSIENT, kind="Site", mailbox_size=self._mailbox)
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
        ref = await self._here(location_id)
        if ref is None and self._bus is not None:  # another node runs it
            raw = await self._bus.request(f"{self._prefix}.{location_id}.load", b"",
                                          LOAD_TIMEOUT_S)
            return msgspec.json.decode(raw, type=LoadView | None)
        for _ in range(LOAD_TRIES):
            try:
                view = None if ref is None else await ref.ask(GetLoad())
            except ActorDead:  # its limit was removed just now
                return None
            except MailboxFull:  # busy sending profiles: its queue drains in order
                await asyncio.sleep(0.05)
                continue
            return view if isinstance(view, LoadView) else None
        raise SiteBusy(location_id)

    async def limits_changed(self, location_id: UUID) -> None:
        """Its limits (or a station's external limit) changed: the site reads them again."""
        self.index.forget()
        await self._to_site(location_id, Reload(), wait=False)  # a station's handler calls

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._route())
            self._worker.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        """The routing task died of an error nobody expected (e.g. the bus failing to
        publish): log it and start another, so the sites keep hearing their stations."""
        if task.cancelled() or task is not self._worker:
            return
        log.error("sites.router_crashed", error=repr(task.exception()))
        self._worker = None
        self.start()

    async def aclose(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        for location_id in list(self._subs):
            await self._unserve(location_id)
        if self._locks is not None:
            await self._locks.aclose()

    def given_up(self) -> None:
        """Every site claim was lost (SiteLocks' connection broke): stop running them here
        (another node may claim them now; a site here would allocate the limit twice)."""
        task = asyncio.get_running_loop().create_task(self._give_up())
        self._giving_up.add(task)
        task.add_done_callback(self._giving_up.discard)

    async def _give_up(self) -> None:
        for ref in self._supervisor.children():
            await self._supervisor.terminate_child(ref.key)
        for location_id in list(self._subs):
            await self._unserve(location_id)

    # -- internals ------------------------------------------------------------------------

    def _put(self, station_id: str, event: Forwarded) -> None:
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

    async def _deliver(self, station_id: str, event: Forwarded) -> None:
        if isinstance(event, SessionEnded) and self._ended is not None:
            await self._ended(station_id, event.transaction_id)
        location = await self.index.of(station_id)
        if location is not None:
            await self._to_site(location, event)

    async def _to_site(self, location_id: UUID, msg: Forwarded, *, wait: bool = True) -> None:
        """Tell the site here, or publish it to the node that runs it. `wait`: while its
        mailbox is full (the event queue's task); else a full mailbox drops `msg` (a charge
        point's handler must not wait for a site that may be waiting for that charge point)."""
        ref = await self._here(location_id)
        if ref is None:
            if self._bus is not None and self._locks is not None \
                    and not self._locks.held(location_id):
                await self._bus.publish(f"{self._prefix}.{location_id}",
                                        msgspec.json.encode(msg))
            return
        try:  # waits while the site is busy: no session is ever dropped, the queue holds
            if wait:
                await ref.send(msg)
            else:
                ref.tell(msg)
        except (ActorDead, MailboxFull) as exc:
            log.warning("sites.tell_dropped", location=str(location_id),
                        error=type(exc).__name__)

    async def _here(self, location_id: UUID) -> ActorRef[SiteMsg] | None:
        """The site's actor when this node runs it (claimed now if nobody did), else None."""
        if self._locks is None:
            return await self.run(location_id)
        now = time.monotonic()
        if self._elsewhere.get(location_id, 0.0) > now:
            return None  # another node ran it a moment ago: no lock query per event
        if not await self._locks.claim(location_id):
            self._elsewhere[location_id] = now + RECLAIM_AFTER_S
            return None
        ref = self.ref(location_id)
        if ref is None:
            ref = await self.run(location_id)
        if location_id not in self._subs and self._bus is not None:
            await self._serve(location_id)
        return ref

    async def _serve(self, location_id: UUID) -> None:
        assert self._bus is not None
        subject = f"{self._prefix}.{location_id}"

        async def forwarded(msg: BusMessage) -> bytes | None:
            event = msgspec.json.decode(msg.data, type=Forwarded)
            await self._to_site(location_id, event)
            return None

        async def load(_msg: BusMessage) -> bytes | None:
            ref = await self._here(location_id)
            view = None if ref is None else await ref.ask(GetLoad())
            return msgspec.json.encode(view if isinstance(view, LoadView) else None)

        self._subs[location_id] = [await self._bus.subscribe(subject, forwarded),
                                   await self._bus.subscribe(f"{subject}.load", load)]

    async def _unserve(self, location_id: UUID) -> None:
        for sub in self._subs.pop(location_id, []):
            await sub.unsubscribe()


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
