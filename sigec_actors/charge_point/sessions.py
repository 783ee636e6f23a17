"""StationSessions: binds gateway links to ChargePoint actors under the charge-points supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import structlog

from sigec_actors.charge_point.actor import ChargePoint
from sigec_actors.charge_point.messages import (
    Attached,
    ChargePointMsg,
    GetView,
    StationCall,
    StationError,
    StationResult,
)
from sigec_actors.charge_point.ports import ChargePointDeps
from sigec_actors.charge_point.state import ChargePointView
from sigec_actors.ocpp.call_budget import LOG_EVERY_S, BudgetSpec, CallBudget, LogThrottle
from sigec_actors.ocpp.errors import ErrorCode, FrameError
from sigec_actors.ocpp.link import LinkClosed, SessionsUnavailable, StationLink
from sigec_actors.ocpp.rpc import Call, CallError, CallResult, encode_call_error, parse_frame
from sigec_actors.runtime import (
    ActorDead,
    ActorNotFound,
    ActorRef,
    AskTimeout,
    ChildSpec,
    Restart,
    SupervisorAt,
)

_log = structlog.get_logger("sigec.charge_point")
T = TypeVar("T")
SERVICE_RESTART = 1012  # RFC 6455: the station should reconnect
HANDLER_STOPPED = "station handler stopped, reconnect"

_CALL_ID = msgspec.json.Decoder(tuple[int, str, str, msgspec.Raw])
"""`[2, id, action, payload]`: the id of a CALL this side encoded (always well formed)."""


class Session:
    """One accepted link: the gateway's SessionSink and the actor's Channel at once.

    It remembers which of the station's CALLs are being handled, so a duplicate message id
    is refused at once (R10) and a restarted actor can answer the ones it lost.
    """

    __slots__ = ("_announced", "_awaited", "_budget", "_dropped", "_inflight", "_limited",
                 "_owner", "link", "ref", "station_id")

    def __init__(self, owner: StationSessions, link: StationLink) -> None:
        self._owner = owner
        self.link = link
        self.station_id = link.station_id
        self.ref: ActorRef[ChargePointMsg] | None = None
        self._inflight: set[str] = set()
        self._awaited: str | None = None  # the id of the CSMS CALL last sent on this link
        self._announced = False
        self._budget = CallBudget(owner.budget, owner.monotonic())
        self._limited = 0  # CALLs refused over budget since the last log line
        self._dropped = LogThrottle(LOG_EVERY_S)  # answers dropped over budget

    # -- SessionSink (called by the gateway, sequentially per connection) ----------------

    async def on_frame(self, data: str | bytes) -> None:
        """Parse one frame and hand it to the actor; bad frames are answered here."""
        frame = parse_frame(data)
        match frame:
            case Call(message_id=mid):
                if not self._budget.take(self._owner.monotonic()):
                    await self._over_budget(mid)
                    return
                if mid in self._inflight:
                    await self._refuse(mid, ErrorCode.RPC_FRAMEWORK_ERROR,
                                       "a CALL with this message id is already being handled")
                    return
                self._inflight.add(mid)
                await self._deliver(StationCall(self, frame), mid)
            case FrameError() if frame.reply:
                await self._refuse(frame.message_id, frame.code, frame.description)
            case _ if not self._answers_our_call(frame) and not self._budget.take(
                    self._owner.monotonic()):
                self._drop_answer(frame)  # an answer over budget (S8): nobody to refuse it to
            case CallResult(message_id=mid, payload=payload):
                await self._deliver(StationResult(mid, payload), None)
            case CallError(message_id=mid, code=code, description=text, details=details):
                await self._deliver(StationError(mid, code, text, details), None)
            case FrameError():  # a broken answer still fails the CALL it answers
                await self._deliver(StationError(frame.message_id, frame.code.value,
                                                 frame.description), None)

    async def on_close(self, code: int | None, reason: str) -> None:
        """The socket closed: stop the actor unless a newer link replaced this one."""
        await self._owner.detach(self, code, reason)

    # -- Channel (used by the actor) ---------------------------------------------------------

    @property
    def number(self) -> int:
        """The link's session number."""
        return self.link.session

    @property
    def is_open(self) -> bool:
        """False once the socket is closing or closed."""
        return self.link.is_open

    async def reply(self, message_id: str, frame: bytes) -> None:
        """Answer the station's CALL `message_id`."""
        self._inflight.discard(message_id)
        await self.link.send(frame)

    async def send(self, frame: bytes) -> None:
        """Send a CSMS CALL."""
        self._awaited = _CALL_ID.decode(frame)[1]
        await self.link.send(frame)

    def unanswered(self) -> tuple[str, ...]:
        """The station's CALLs handed to the actor and not answered yet."""
        return tuple(self._inflight)

    def claim_announcement(self) -> bool:
        """True the first time only (the `connected` event is published once per link)."""
        first, self._announced = not self._announced, True
        return first

    def close_soon(self) -> None:
        """The actor serving this link stopped for good: close the socket (1012) in the
        background; the station reconnects and gets a fresh actor."""
        self._owner.close_soon(self)

    # -- internals ---------------------------------------------------------------------------

    async def _deliver(self, msg: ChargePointMsg, call_id: str | None) -> None:
        ref = self.ref
        try:
            if ref is None:
                raise ActorDead(f"charge point {self.station_id}")
            await ref.send(msg)  # waits while the mailbox is full: back-pressure on the socket
        except ActorDead:
            if call_id is not None:
                self._inflight.discard(call_id)
                await self._refuse(call_id, ErrorCode.INTERNAL_ERROR,
                                   "station handler is restarting, retry")
            if self._owner.orphaned(self):  # not restarting: gone for good (e.g. killed)
                self.close_soon()

    async def _over_budget(self, message_id: str) -> None:
        """S8: answer GenericError without bothering the actor; log the first refusal of a
        flood and then every 100th, so a flood cannot flood the log too."""
        if self._limited % 100 == 0:
            _log.warning("ocpp_call_rate_limited", station_id=self.station_id,
                         session=self.link.session, refused=self._limited + 1,
                         budget=self._owner.budget.describe())
        self._limited += 1
        await self._refuse(message_id, ErrorCode.GENERIC_ERROR,
                           f"rate limited: {self._owner.budget.describe()}")

    def _answers_our_call(self, frame: CallResult | CallError | FrameError) -> bool:
        """The first answer to the CSMS CALL in flight is free of the budget: the CSMS asked
        for it (one per CALL, so it cannot flood); dropping it failed the command (504)."""
        if self._awaited is None or frame.message_id != self._awaited:
            return False
        self._awaited = None
        return True

    def _drop_answer(self, frame: CallResult | CallError | FrameError) -> None:
        """Drop a CALLRESULT/CALLERROR over budget; one log line per LOG_EVERY_S at most."""
        held = self._dropped.admit(self._owner.monotonic())
        if held is not None:
            _log.warning("ocpp_answer_rate_limited", station_id=self.station_id,
                         session=self.link.session, message_id=frame.message_id[:36],
                         suppressed=held, budget=self._owner.budget.describe())

    async def _refuse(self, message_id: str, code: ErrorCode, description: str) -> None:
        try:
            await self.link.send(encode_call_error(message_id, code, description))
        except LinkClosed:
            return


class _KeyedLocks:
    """One asyncio.Lock per station id, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def run(self, key: str, body: Awaitable[T]) -> T:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await body
        finally:
            lock_, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock_, users - 1)


class StationSessions:
    """The charge point side of the gateway seam (ocpp.link.StationSessions).

    `attach` starts the station's ChargePoint actor at `<charge-points>/<station id>` (or
    hands the link to the running one); closing the current link stops the actor, which
    marks the station offline. Attach and detach of one identity are serialised, so a quick
    reconnect never races the old actor's shutdown, and a replaced link's late close is ignored.
    The supervisor is found by path at each attach, so a restarted node tree is followed; an
    actor stopped for good has its link closed (the station reconnects to a fresh actor).
    """

    def __init__(self, supervisor: SupervisorAt, deps: ChargePointDeps, *,
                 mailbox_size: int = 256, shutdown_timeout_s: float = 5.0,
                 budget: BudgetSpec | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget if budget is not None else BudgetSpec()
        self.monotonic = monotonic
        self._supervisor = supervisor
        self._deps = deps
        self._mailbox_size = mailbox_size
        self._shutdown_timeout_s = shutdown_timeout_s
        self._sessions: dict[str, Session] = {}
        self._locks = _KeyedLocks()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def deps(self) -> ChargePointDeps:
        """The wiring shared by every ChargePoint actor of this node."""
        return self._deps

    def accepting(self) -> bool:
        """True while the charge-points supervisor runs (False: stopped, or restarting)."""
        return self._supervisor.running

    async def attach(self, link: StationLink) -> Session:
        """Bind a freshly authenticated link to the station's actor; returns its sink.

        Raises SessionsUnavailable while the charge-points supervisor is not running.
        """
        session = Session(self, link)
        try:
            await self._locks.run(link.station_id, self._attach(session))
        except (ActorNotFound, ActorDead) as exc:  # the supervisor is stopped or stopping
            raise SessionsUnavailable(link.station_id, str(exc)) from exc
        return session

    async def _attach(self, session: Session) -> None:
        station_id = session.station_id
        old = self._sessions.get(station_id)
        self._sessions[station_id] = session
        ref = self._supervisor.child(station_id)
        if ref is None:
            try:
                session.ref = await self._supervisor.start_child(self._spec(station_id))
            except BaseException:
                if self._sessions.get(station_id) is session:  # the gateway drops the link
                    del self._sessions[station_id]
                raise
            return  # on_start adopts the session
        session.ref = ref
        _log.info("sessions.replaced", station_id=station_id, session=session.number,
                  previous=old.number if old else None)
        # If it is restarting, the next incarnation's on_start adopts the session instead.
        with contextlib.suppress(ActorDead):
            await ref.send(Attached(session))

    async def detach(self, session: Session, code: int | None, reason: str) -> None:
        """The link closed; stop the actor if it was the station's current link."""
        await self._locks.run(session.station_id, self._detach(session, code, reason))

    async def _detach(self, session: Session, code: int | None, reason: str) -> None:
        station_id = session.station_id
        if self._sessions.get(station_id) is not session:
            return  # replaced: the newer link owns the actor now
        del self._sessions[station_id]
        _log.info("sessions.closed", station_id=station_id, session=session.number, code=code,
                  reason=reason)
        try:
            await self._supervisor.terminate_child(station_id)
        except (ActorNotFound, ActorDead):
            return

    def orphaned(self, session: Session) -> bool:
        """True when `session` is current but its actor is gone for good (not restarting)."""
        station_id = session.station_id
        if self._sessions.get(station_id) is not session or session.ref is None:
            return False
        return self._supervisor.child(station_id) is not session.ref

    def close_soon(self, session: Session) -> None:
        """Close the session's socket in the background (the gateway then reports on_close)."""
        _log.info("sessions.handler_stopped", station_id=session.station_id,
                  session=session.number)
        task = asyncio.create_task(session.link.close(SERVICE_RESTART, HANDLER_STOPPED))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _spec(self, station_id: str) -> ChildSpec:
        deps, lookup = self._deps, self._sessions.get
        return ChildSpec(key=station_id, factory=lambda: ChargePoint(station_id, deps, lookup),
                         restart=Restart.TRANSIENT, kind="ChargePoint",
                         shutdown_timeout_s=self._shutdown_timeout_s,
                         mailbox_size=self._mailbox_size)

    # -- lookups for the command API, REST and the console ------------------------------

    def session(self, station_id: str) -> Session | None:
        """The station's live session on this node, if connected."""
        return self._sessions.get(station_id)

    def ref(self, station_id: str) -> ActorRef[ChargePointMsg] | None:
        """The station's actor while it has a live session on this node."""
        session = self._sessions.get(station_id)
        return None if session is None else session.ref

    def connected(self) -> list[str]:
        """Ids of the stations connected to this node."""
        return sorted(self._sessions)

    async def view(self, station_id: str, timeout_s: float = 2.0) -> ChargePointView | None:
        """Live state for GET /devices/{id}; None when not connected here (use the DB row)."""
        ref = self.ref(station_id)
        if ref is None:
            return None
        try:
            view = await ref.ask(GetView(), timeout=timeout_s)
        except (ActorDead, AskTimeout):
            return None
        assert isinstance(view, ChargePointView)
        return view

    async def aclose(self) -> None:
        """Flush node-level buffers (last-seen, queued station writes, bus events); call after
        the gateway stopped."""
        if self._closing:
            await asyncio.wait(self._closing)
        await self._deps.last_seen.aclose()
        await self._deps.store.aclose()
        await self._deps.events.flush()
