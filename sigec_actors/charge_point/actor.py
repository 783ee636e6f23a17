"""The ChargePoint actor: the imperative shell that runs `decide`'s effects as I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, assert_never

import msgspec
from msgspec.structs import replace

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.charge_point.deadline import deadline
from sigec_actors.charge_point.delegate import Delegated, delegated_frame
from sigec_actors.charge_point.effects import (
    CancelTimer,
    CheckIdle,
    Effect,
    FailCommand,
    HandleAuthorize,
    HandleOther,
    HandleReservationStatus,
    HandleTransactionEvent,
    Log,
    MarkSeen,
    Persist,
    Publish,
    Reply,
    ReplyError,
    ReportEvNeeds,
    ResolveCommand,
    SendCall,
    StartTimer,
    Write,
    WriteAlert,
    WriteAudit,
    WriteBoot,
    WriteOnline,
    WriteStatus,
)
from sigec_actors.charge_point.messages import (
    AbandonCalls,
    Attached,
    CallSendFailed,
    CallTimedOut,
    Channel,
    ChargePointMsg,
    Decidable,
    Detached,
    GetView,
    ReloadState,
    SendCommand,
    StationCall,
)
from sigec_actors.charge_point.model import ChargePointState, rebuild
from sigec_actors.charge_point.ports import ChargePointDeps
from sigec_actors.charge_point.state import ChargePointView, decide, view_of
from sigec_actors.charge_point.store import BootWrite, OnlineWrite, StationWrite, StatusWrite
from sigec_actors.ocpp.call_budget import LogThrottle
from sigec_actors.ocpp.errors import ErrorCode
from sigec_actors.ocpp.link import LinkClosed
from sigec_actors.ocpp.rpc import encode_call, encode_call_error, encode_call_result
from sigec_actors.runtime import Actor, ActorDead, ExitKind, ExitReason, MailboxFull, TimerHandle

T = TypeVar("T")
FRESH_LOAD_S = 2.0
"""A registration read this recently is not read again for a BootNotification."""
ChannelLookup = Callable[[str], Channel | None]
"""The station's current link, kept by StationSessions so it outlives actor restarts."""


"""Expected failures of storage and of the services behind it (outage, timeout, typed
errors): answered with CALLERROR InternalError. Anything else is a bug: the actor crashes,
its supervisor restarts it and the station's CALL is answered InternalError on the way."""


class ChargePoint(Actor[ChargePointMsg]):
    """One connected station: OCPP state via the pure core, storage and link as effects.

    The link lives in StationSessions: a restarted incarnation finds it again, rebuilds its
    state from storage and carries on (the station notices nothing). A CSMS CALL is never
    awaited inside `receive`: its answer arrives as a later message and resolves a future.
    """

    __slots__ = ("_channel", "_deps", "_futures", "_loaded", "_loaded_at", "_log", "_lookup",
                 "_sent", "_state", "_station_id", "_throttles", "_timers")

    def __init__(self, station_id: str, deps: ChargePointDeps, lookup: ChannelLookup) -> None:
        self._station_id = station_id
        self._deps = deps
        self._lookup = lookup
        self._state = ChargePointState(station_id=station_id, policy=deps.policy)
        self._channel: Channel | None = None
        self._futures: dict[str, asyncio.Future[Any]] = {}
        self._sent: dict[str, tuple[str, float]] = {}  # CALL id -> (action, sent at), metrics
        self._timers: dict[str, TimerHandle] = {}
        self._loaded = False
        self._loaded_at = float("-inf")
        self._log: Any = None
        self._throttles: dict[str, LogThrottle] = {}

    @property
    def _logger(self) -> Any:
        """Bound on first use: most actors never log, and a bound logger costs memory."""
        if self._log is None:
            self._log = self.ctx.log.bind(station_id=self._station_id)
        return self._log

    @property
    def state(self) -> ChargePointState:
        """The current state (read-only; for tests and the console)."""
        return self._state

    async def on_start(self) -> None:
        """Rebuild from storage, then re-adopt the station's live link, if any."""
        task = asyncio.current_task()
        if task is not None:  # also covers a killed task, when on_stop does not run
            task.add_done_callback(lambda _: self._fail_futures())
        await self._load()
        channel = self._lookup(self._station_id)
        if channel is None:
            return
        lost = channel.unanswered()
        if lost:  # behind whatever is already queued: those will still be answered
            try:
                self.ctx.self_ref.tell(AbandonCalls(channel, lost))
            except MailboxFull:
                self._logger.warning("charge_point.abandon_dropped", calls=len(lost))
        await self._handle(Attached(channel, fresh=channel.claim_announcement()))

    async def receive(self, msg: ChargePointMsg) -> Any:
        """One message at a time; only GetView returns something."""
        if self._deps.observer is not None and isinstance(msg, StationCall):
            self._deps.observer.message("in", msg.call.action)
        match msg:
            case GetView():
                return self.view()
            case ReloadState():
                await self._reload()
            case AbandonCalls(channel=channel, message_ids=ids):
                await self._abandon(channel, ids)
            case SendCommand(message_id=mid, reply=reply):
                if reply is not None:
                    self._futures[mid] = reply
                await self._handle(msg)
            case StationCall() if not self._loaded:
                await self._answer(msg.channel, msg.call.message_id, encode_call_error(
                    msg.call.message_id, ErrorCode.INTERNAL_ERROR, "station state not loaded"))
            case StationCall() if msg.call.action == "BootNotification":
                if await self._refresh(msg):
                    await self._handle(msg)
            case CallTimedOut():
                self._timers.pop(msg.message_id, None)
                await self._handle(msg)
            case Attached(channel=channel):  # whoever handles a link first announces it
                await self._handle(Attached(channel, fresh=channel.claim_announcement()))
            case _:
                await self._handle(msg)
        return None

    async def on_stop(self, reason: ExitReason) -> None:
        """Mark the station offline if its link is gone (not after a crash: it restarts).

        Stopped for good (an operator stop, or its supervisor stopped or restarted), the actor
        also marks a live link offline and has it closed: the station reconnects to a fresh
        actor. A restart (RESTART) keeps the link: the next incarnation adopts it.
        """
        session = self._state.session
        current = self._lookup(self._station_id)
        gone = current is None or current.number != session
        final = reason.kind in (ExitKind.SHUTDOWN, ExitKind.NORMAL)
        if session is not None and (final or (gone and reason.kind is not ExitKind.CRASH)):
            await self._handle(Detached(session))
        if final and current is not None and not gone:
            current.close_soon()
        self._fail_futures()

    def state_summary(self) -> str:
        """Boot state, link and command slot, for snapshots."""
        s = self._state
        in_flight = s.outbound.in_flight
        return (f"{s.boot.value}, session {s.session}, "
                f"in flight {in_flight.action if in_flight else '-'}, "
                f"queued {len(s.outbound.queue)}")

    def view(self) -> ChargePointView:
        """The live state as data (GET /devices/{id})."""
        return view_of(self._state)

    # -- the pure core and its effects ---------------------------------------------------

    async def _handle(self, msg: Decidable) -> None:
        old = self._state
        new, effects = decide(old, msg, self.ctx.clock.now())
        self._state = new
        self._track_channel(msg)
        if not await self._run(effects):
            self._state = old  # a required write failed: the station was told InternalError
        elif isinstance(msg, StationCall):
            for watcher in self._deps.handlers.watchers_for(type(msg.call.payload)):
                watcher(self._station_id, msg.call.payload)

    def _track_channel(self, msg: Decidable) -> None:
        meters = self._deps.meters
        if isinstance(msg, Attached) and self._state.session == msg.channel.number:
            if self._channel is None and meters is not None:
                meters.presence(self._station_id, True)
            self._channel = msg.channel
        elif isinstance(msg, Detached) and self._state.session is None:
            self._channel = None
            if meters is not None:
                meters.presence(self._station_id, False)

    async def _run(self, effects: list[Effect]) -> bool:  # noqa: PLR0912 -- one case per effect
        for effect in effects:
            match effect:
                case Reply(channel=ch, message_id=mid, payload=payload):
                    await self._answer(ch, mid, encode_call_result(mid, payload))
                case ReplyError(channel=ch, message_id=mid, code=code, description=text):
                    await self._answer(ch, mid, encode_call_error(mid, code, text))
                case Persist():
                    if not await self._persist(effect):
                        return False
                case (HandleTransactionEvent() | HandleAuthorize() | HandleReservationStatus()
                      | HandleOther()):
                    await self._delegate(effect)
                case SendCall(message_id=mid, request=request):
                    await self._send_call(mid, request)
                case ResolveCommand(message_id=mid, response=response):
                    self._settle(mid, response, None)
                case FailCommand(message_id=mid, error=error):
                    self._settle(mid, None, error)
                case StartTimer(message_id=mid, delay_s=delay):
                    self._timers[mid] = self.ctx.after(delay, CallTimedOut(mid))
                case CancelTimer(message_id=mid):
                    handle = self._timers.pop(mid, None)
                    if handle is not None:
                        handle.cancel()
                case Publish(subject=subject, payload=payload):
                    self._deps.events.emit(subject, payload)
                case MarkSeen(at=at):
                    self._deps.last_seen.mark(self._station_id, at)
                case Log():
                    self._emit(effect)
                case CheckIdle(evse_id=evse_id):
                    if self._deps.idle is not None:
                        self._deps.idle.station_idle(self._station_id, evse_id)
                case ReportEvNeeds(evse_id=evse_id, needs=needs):
                    if self._deps.ev_reports is not None:
                        self._deps.ev_reports.ev_charging_needs(self._station_id, evse_id, needs)
                case _:
                    assert_never(effect)
        return True

    def _emit(self, line: Log) -> None:
        fields = line.fields
        if line.every_s is not None:
            throttle = self._throttles.setdefault(line.event, LogThrottle(line.every_s))
            held = throttle.admit(self.ctx.clock.monotonic())
            if held is None:
                return
            fields = {**fields, "suppressed": held}
        getattr(self._logger, line.level)(line.event, **fields)

    async def _answer(self, channel: Channel, message_id: str, frame: bytes) -> None:
        try:
            await channel.reply(message_id, frame)
        except LinkClosed:
            self._logger.info("charge_point.reply_lost", message_id=message_id)

    async def _fail_call(self, channel: Channel, message_id: str, why: str) -> None:
        await self._answer(channel, message_id,
                           encode_call_error(message_id, ErrorCode.INTERNAL_ERROR, why))

    async def _persist(self, effect: Persist) -> bool:
        write, reply = effect.write, effect.reply
        if effect.background and not isinstance(write, WriteAudit | WriteAlert):
            await self._deps.store.write_soon(self._station_write(write))  # nobody waits
            return True
        try:
            await self._write(write)
        except STORAGE_FAILURES as exc:  # storage boundary: an outage becomes InternalError
            self._logger.error("charge_point.persist_failed", write=type(write).__name__,
                            error=repr(exc))
            if effect.required:
                if reply is not None:
                    await self._fail_call(reply.channel, reply.message_id,
                                          "storage unavailable, retry later")
                return False
        if reply is not None:
            await self._answer(reply.channel, reply.message_id,
                               encode_call_result(reply.message_id, reply.payload))
        return True

    async def _write(self, write: Write) -> None:
        """Commit one write: station rows through the batching store, the rest directly."""
        deps = self._deps
        match write:
            case WriteAudit(entry=entry):
                async with deadline(self.ctx.clock, deps.persist_timeout_s):
                    await deps.audit.record(entry)
            case WriteAlert(alert=alert):
                if deps.alerts is None:  # a node without alerts still logs the cause
                    self._logger.warning("charge_point.alert_not_opened", kind=alert.kind)
                    return
                async with deadline(self.ctx.clock, deps.persist_timeout_s):
                    await deps.alerts.open(alert)
            case _:
                await self._stored(deps.store.write(self._station_write(write)))

    def _station_write(self, write: WriteBoot | WriteStatus | WriteOnline) -> StationWrite:
        now, sid = self.ctx.clock.now(), self._station_id
        match write:
            case WriteBoot(boot=boot, events=events):
                return BootWrite(sid, boot, now, events)
            case WriteStatus(evse_id=evse, connector_id=conn, status=status, events=events):
                return StatusWrite(sid, evse, conn, status, now, events)
            case WriteOnline(online=online, events=events):
                return OnlineWrite(sid, online, now, events)
            case _:
                assert_never(write)

    async def _stored(self, call: Awaitable[T]) -> T:
        """A StationStore call. Batched, the store bounds each DB round trip itself and time
        spent queued behind other stations is back-pressure, not failure; else a deadline."""
        if self._deps.store.batched:
            return await call
        async with deadline(self.ctx.clock, self._deps.persist_timeout_s):
            return await call

    async def _delegate(self, effect: Delegated) -> None:
        frame, stored = await delegated_frame(effect, self._station_id, self._deps,
                                              self.ctx.clock, self._logger)
        await self._answer(effect.channel, effect.message_id, frame)
        if stored and isinstance(effect, HandleTransactionEvent) and self._deps.meters:
            self._deps.meters.transaction_event(self._station_id, effect.request)  # stored

    async def _send_call(self, message_id: str, request: msgspec.Struct) -> None:
        channel = self._channel
        try:
            if channel is None:
                raise LinkClosed(self._station_id, -1)
            await channel.send(encode_call(message_id, request))
            if self._deps.observer is not None:
                action = type(request).__name__.removesuffix("Request")
                self._deps.observer.message("out", action)
                self._sent[message_id] = (action, self.ctx.clock.monotonic())
        except LinkClosed:
            try:
                self.ctx.self_ref.tell(CallSendFailed(message_id))
            except MailboxFull:  # the call timer fails it instead
                self._logger.warning("charge_point.send_failed_dropped", message_id=message_id)

    def _settle(self, message_id: str, result: Any, error: BaseException | None) -> None:
        sent = self._sent.pop(message_id, None)
        if sent is not None and self._deps.observer is not None:
            self._deps.observer.call_answered(sent[0], self.ctx.clock.monotonic() - sent[1])
        fut = self._futures.pop(message_id, None)
        if fut is None or fut.done():
            return
        if error is None:
            fut.set_result(result)
        else:
            fut.set_exception(error)

    def _fail_futures(self) -> None:
        futures, self._futures = self._futures, {}
        for fut in futures.values():
            if not fut.done():
                fut.set_exception(ActorDead(self.ctx.path))

    # -- storage ---------------------------------------------------------------------------

    async def _load(self) -> None:
        deps = self._deps
        try:
            snapshot = await self._stored(deps.store.snapshot(self._station_id))
        except STORAGE_FAILURES as exc:  # storage down: InternalError until a reload works
            self._logger.error("charge_point.load_failed", error=repr(exc))
            self.ctx.after(deps.reload_after_s, ReloadState())
            return
        station, connectors = (None, []) if snapshot is None else (
            snapshot.station, list(snapshot.connectors))
        rebuilt = rebuild(self._station_id, deps.policy, station, connectors)
        current = self._state
        self._state = replace(rebuilt, session=current.session, outbound=current.outbound)
        self._loaded = True
        self._loaded_at = self.ctx.clock.monotonic()

    async def _reload(self) -> None:
        if not self._loaded:
            await self._load()

    async def _refresh(self, msg: StationCall) -> bool:
        """Re-read the registration before answering a BootNotification.

        Not when the state was loaded from storage moments ago (a station boots right after
        connecting): that read is as fresh as a second one would be.
        """
        if self.ctx.clock.monotonic() - self._loaded_at < FRESH_LOAD_S:
            return True
        try:
            snapshot = await self._stored(self._deps.store.snapshot(self._station_id))
        except STORAGE_FAILURES as exc:  # storage down: the station boots again after its retry
            self._logger.error("charge_point.refresh_failed", error=repr(exc))
            await self._fail_call(msg.channel, msg.call.message_id, "storage unavailable")
            return False
        registered = snapshot is not None
        admin = (snapshot.station.admin_status if snapshot is not None
                 else self._state.admin_status)
        self._state = replace(self._state, registered=registered, admin_status=admin)
        return True

    async def _abandon(self, channel: Channel, message_ids: tuple[str, ...]) -> None:
        still = set(channel.unanswered())
        for mid in message_ids:
            if mid in still:
                await self._fail_call(channel, mid, "handler restarted, retry")
