"""The node's V2G sessions: actors under `/node-N/v2g`, fed by the charge points' meter values."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from sigec_actors.ocpp.generated.v201 import (
    MeterValue,
    SampledValue,
    TransactionEventEnum,
    TransactionEventRequest,
)
from sigec_actors.runtime import (
    ActorDead,
    ActorRef,
    ChildExists,
    ChildSpec,
    MailboxFull,
    Restart,
    SupervisorAt,
)
from sigec_actors.v2g_session.actor import V2GDeps, V2GSession
from sigec_actors.v2g_session.messages import (
    MeterReported,
    MeterSample,
    StationPresence,
    TransactionEnded,
    V2GSessionMsg,
)
from sigec_actors.v2g_session.state import Status, V2GState

log = structlog.get_logger("v2g")
EXPORT = "Energy.Active.Export.Register"
POWER = "Power.Active.Export"
SOC = "SoC"


class V2GSessions:
    """Runs one V2GSession actor per live discharge held by this node.

    The charge points tell it every stored TransactionEvent and every link change (the
    TransactionMeterSink port); it never blocks them: a dictionary lookup, then a `tell`.
    A station that attaches here has its live sessions resumed from PostgreSQL.
    """

    def __init__(self, supervisor: SupervisorAt, deps: V2GDeps) -> None:
        self._supervisor = supervisor
        self._deps = V2GDeps(deps.store, deps.settler, deps.commands, deps.prices,
                             deps.check_interval_s, deps.settle_retry_s, self._exited)
        self._by_tx: dict[tuple[str, str], UUID] = {}
        self._by_station: dict[str, set[UUID]] = {}
        self._keys: dict[UUID, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the charge points' hook (TransactionMeterSink) ------------------------------------

    def transaction_event(self, station_id: str, request: TransactionEventRequest) -> None:
        tx = request.transaction_info.transaction_id
        session = self._by_tx.get((station_id, tx))
        if session is None:
            return  # not a discharge running here: the common case costs one lookup
        samples = tuple(s for mv in request.meter_value or () if (s := sample_of(mv)))
        if samples:
            self._tell(session, MeterReported(samples))
        if request.event_type is TransactionEventEnum.ENDED:
            self._tell(session, TransactionEnded())

    def presence(self, station_id: str, online: bool) -> None:
        for session in tuple(self._by_station.get(station_id, ())):
            self._tell(session, StationPresence(online))
        if online:
            self._spawn(self.resume(station_id))

    # -- control ---------------------------------------------------------------------------

    async def resume(self, station_id: str) -> list[UUID]:
        """Start actors for the station's live sessions not running here (after a restart or a
        reconnect). Sessions still `starting` belong to the start request that made them."""
        started = []
        for state in await self._deps.store.live_for_station(station_id):
            if state.status is not Status.STARTING and self.ref(state.session_id) is None:
                await self.run(state)
                started.append(state.session_id)
        return started

    async def run(self, state: V2GState) -> ActorRef[V2GSessionMsg]:
        """The session's actor at `/node-N/v2g/<sessionId>`, started if it is not running."""
        sid = state.session_id
        self._index(state)
        spec = ChildSpec(key=str(sid), factory=lambda: V2GSession(sid, self._deps),
                         restart=Restart.TRANSIENT, kind="V2GSession")
        try:
            return await self._supervisor.start_child(spec)
        except ChildExists:
            ref = self.ref(sid)
            assert ref is not None
            return ref

    def ref(self, session_id: UUID) -> ActorRef[V2GSessionMsg] | None:
        ref = self._supervisor.child(str(session_id))
        return ref if ref is not None and ref.alive else None

    def running(self) -> list[UUID]:
        return list(self._keys)

    async def aclose(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- internals -------------------------------------------------------------------------

    def _index(self, state: V2GState) -> None:
        key = (state.station_id, state.station_transaction_id)
        self._by_tx[key] = state.session_id
        self._keys[state.session_id] = key
        self._by_station.setdefault(state.station_id, set()).add(state.session_id)

    def _exited(self, session_id: UUID) -> None:
        if self.ref(session_id) is not None:
            return  # a restart: the next incarnation keeps the slot
        key = self._keys.pop(session_id, None)
        if key is None:
            return
        self._by_tx.pop(key, None)
        sessions = self._by_station.get(key[0])
        if sessions is not None:
            sessions.discard(session_id)
            if not sessions:
                del self._by_station[key[0]]

    def _tell(self, session_id: UUID, msg: V2GSessionMsg) -> None:
        ref = self.ref(session_id)
        if ref is None:
            return
        try:
            ref.tell(msg)
        except (MailboxFull, ActorDead) as exc:
            log.warning("v2g.tell_dropped", session=str(session_id), msg=type(msg).__name__,
                        error=type(exc).__name__)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("v2g.resume_failed", error=repr(task.exception()))


def sample_of(mv: MeterValue) -> MeterSample | None:
    """The export register (Wh), SoC (%) and export power (W) of one meterValue, if any."""
    export = soc = power = None
    for sv in mv.sampled_value:
        if sv.phase is not None:
            continue  # totals only
        match sv.measurand.value if sv.measurand else None:
            case "Energy.Active.Export.Register":
                export = _scaled(sv, "kWh")
            case "Power.Active.Export":
                power = _scaled(sv, "kW")
            case "SoC":
                soc = max(0, min(100, round(sv.value)))
    if export is None and soc is None and power is None:
        return None
    return MeterSample(mv.timestamp, export, soc, power)


def _scaled(sv: SampledValue, kilo_unit: str) -> int:
    """The value in Wh or W: `unitOfMeasure` kWh/kW scale by 1000, `multiplier` by 10^m."""
    value = Decimal(repr(sv.value))
    unit = sv.unit_of_measure
    if unit is not None:
        if unit.unit == kilo_unit:
            value *= 1000
        value = value.scaleb(unit.multiplier or 0)
    return int(value.to_integral_value())
