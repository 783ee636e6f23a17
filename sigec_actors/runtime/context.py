"""ActorContext: one actor slot in the tree, its mailbox, its task and its lifecycle.

Mailbox back-pressure policy: every mailbox is bounded (`ChildSpec.mailbox_size`, default 1000).
`tell` and `ask` never wait for space: a full mailbox raises `MailboxFull` at once, so a producer
on the hot path (an OCPP frame) learns about overload immediately. `send` is the waiting variant:
it awaits space in FIFO order. Timer messages that find a full mailbox are dropped with a warning.
Supervisor control messages and exit notices use a separate system queue that is processed first,
so overload never hides a child's exit; that queue only grows with awaiting callers and exits.
Not thread-safe: use it from the event loop's thread (other threads: loop.call_soon_threadsafe).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog

from sigec_actors.runtime.errors import ActorDead, MailboxFull
from sigec_actors.runtime.messages import ChildExited
from sigec_actors.runtime.recent import Recent, RecentMessage, recent_of
from sigec_actors.runtime.ref import ActorRef
from sigec_actors.runtime.spec import KILLED, NORMAL, SHUTDOWN, ChildSpec, ExitReason, crash
from sigec_actors.runtime.timers import Timer

if TYPE_CHECKING:
    from sigec_actors.runtime.actor import Actor
    from sigec_actors.runtime.clock import Clock, TimerHandle
    from sigec_actors.runtime.system import ActorSystem

M = TypeVar("M")
Envelope = tuple[Any, "asyncio.Future[Any] | None"]


class ActorContext(Generic[M]):
    """What an actor sees of the runtime as `self.ctx`: its ref, path, clock, log and timers."""

    __slots__ = (
        "_actor", "_busy", "_current", "_incarnation", "_last_error", "_log", "_mbox",
        "_parent", "_processed", "_recent", "_restarts", "_space", "_started", "_stop", "_sys",
        "_system", "_task", "_timers", "_waiter", "key", "path", "self_ref", "spec",
    )  # fmt: skip

    def __init__(
        self, system: ActorSystem, parent: ActorContext[Any] | None, spec: ChildSpec
    ) -> None:
        self._system = system
        self._parent = parent
        self.spec = spec
        self.key: str = spec.key
        self.path: str = f"{parent.path if parent else ''}/{spec.key}"
        self.self_ref: ActorRef[M] = ActorRef(self)
        self._actor: Actor[M] | None = None
        self._task: asyncio.Task[ExitReason] | None = None
        self._mbox: deque[Envelope] | None = None  # created on demand; idle actors hold none
        self._sys: deque[Envelope] | None = None
        self._space: deque[asyncio.Future[None]] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timers: set[Timer] | None = None
        self._current: asyncio.Future[Any] | None = None
        self._stop: ExitReason | None = None
        self._log: Any = None
        self._last_error: str | None = None
        self._recent: Recent | None = None  # created with the first message; kept on restart
        self._busy = True
        self._incarnation = self._processed = self._restarts = 0
        self._started = 0.0

    # -- what the actor uses -------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The system's injected clock."""
        return self._system.clock

    @property
    def log(self) -> Any:
        """A structlog logger bound with this actor's path (created on first use)."""
        if self._log is None:
            self._log = structlog.get_logger("sigec.actors").bind(path=self.path)
        return self._log

    def after(self, delay_s: float, msg: M) -> TimerHandle:
        """Deliver `msg` to this actor once after `delay_s`; cancelled when the actor stops."""
        return self._add_timer(Timer(self, msg, delay_s, None))

    def every(self, interval_s: float, msg: M) -> TimerHandle:
        """Deliver `msg` to this actor every `interval_s`; cancelled when the actor stops."""
        return self._add_timer(Timer(self, msg, interval_s, interval_s))

    def stop(self) -> None:
        """Stop after the current message (a NORMAL exit: PERMANENT children are restarted)."""
        self.request_stop(NORMAL)

    @property
    def actor(self) -> Actor[M] | None:
        """The current incarnation's Actor instance (None while stopped)."""
        return self._actor

    @property
    def parent(self) -> ActorContext[Any] | None:
        """The supervisor's context (None for the root)."""
        return self._parent

    @property
    def running(self) -> bool:
        """True while an incarnation's task exists (also while it is stopping)."""
        return self._task is not None

    @property
    def incarnation(self) -> int:
        """Counts starts of this slot; exit notices of older incarnations are stale."""
        return self._incarnation

    @property
    def processed(self) -> int:
        """Messages handled over all incarnations."""
        return self._processed

    @property
    def restarts(self) -> int:
        """Restarts of this slot (by its supervisor or an operator)."""
        return self._restarts

    @property
    def last_error(self) -> str | None:
        """`Type: message` of the last crash, if any."""
        return self._last_error

    def recent(self) -> list[RecentMessage]:
        """The last messages this slot took (oldest first), summarised for an operator."""
        clock = self._system.clock
        return recent_of(self._recent or (), monotonic_now=clock.monotonic(),
                         wall_now=clock.now())

    def uptime_s(self) -> float:
        """Seconds since the current incarnation started (0 when stopped)."""
        if self._task is None:
            return 0.0
        return self._system.clock.monotonic() - self._started

    def new_child(self, spec: ChildSpec) -> ActorContext[Any]:
        """A not-yet-started child slot under this one (used by supervisors)."""
        return ActorContext(self._system, self, spec)

    @property
    def accepting(self) -> bool:
        """True while running and not stopping."""
        return self._task is not None and self._stop is None

    @property
    def mailbox_depth(self) -> int:
        """Messages waiting, system queue included."""
        return len(self._mbox or ()) + len(self._sys or ())

    @property
    def idle(self) -> bool:
        """Parked on an empty mailbox (used by deterministic test helpers)."""
        return not self._busy and not self._mbox and not self._sys

    # -- sending -------------------------------------------------------------------------

    def enqueue(self, msg: Any, reply: asyncio.Future[Any] | None) -> None:
        """Append to the bounded mailbox or raise MailboxFull / ActorDead."""
        if self._task is None or self._stop is not None:
            raise ActorDead(self.path)
        mbox = self._mbox
        if mbox is None:
            mbox = self._mbox = deque()
        elif len(mbox) >= self.spec.mailbox_size:
            raise MailboxFull(self.path, self.spec.mailbox_size)
        mbox.append((msg, reply))
        self._wake()

    async def send(self, msg: M) -> None:
        """Enqueue, awaiting space in FIFO order while the mailbox is full."""
        while True:
            mbox = self._mbox
            if mbox is None or len(mbox) < self.spec.mailbox_size or self._task is None:
                self.enqueue(msg, None)
                return
            if self._space is None:
                self._space = deque()
            fut: asyncio.Future[None] = self._system.loop.create_future()
            self._space.append(fut)
            await fut

    async def ask(self, msg: M, timeout: float | None) -> Any:  # noqa: ASYNC109
        """Enqueue with a reply future and await it (see ActorRef.ask).

        The timeout runs on the injected clock (so fake time drives it), not asyncio.timeout.
        """
        fut: asyncio.Future[Any] = self._system.loop.create_future()
        self.enqueue(msg, fut)
        if timeout is not None:
            self._system.ask_deadlines(timeout).add(fut, self.path)
        return await fut

    def post_system(self, msg: Any, reply: asyncio.Future[Any] | None) -> None:
        """Queue a control message ahead of the mailbox, unbounded; dropped if not running."""
        if self._task is None:
            if reply is not None and not reply.done():
                reply.set_exception(ActorDead(self.path))
            return
        if self._sys is None:
            self._sys = deque()
        self._sys.append((msg, reply))
        self._wake()

    async def call_system(self, msg: Any) -> Any:
        """Post a control message and await its reply (bounded by the actor's life)."""
        fut: asyncio.Future[Any] = self._system.loop.create_future()
        self.post_system(msg, fut)
        return await fut

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, restart: bool = False) -> None:
        """Start a fresh incarnation from the spec's factory (the factory may raise)."""
        actor = self.spec.factory()
        actor.ctx = self
        self._actor = actor
        self._stop = None
        self._busy = True
        self._incarnation += 1
        self._restarts += restart
        self._started = self._system.clock.monotonic()
        task = self._system.loop.create_task(self._run(actor))
        task.add_done_callback(self._on_done)
        self._task = task
        self._system.registry[self.path] = self

    def request_stop(self, reason: ExitReason = SHUTDOWN) -> None:
        """Ask the running incarnation to stop after its current message."""
        if self._task is not None and self._stop is None:
            self._stop = reason
            self._wake()

    def kill(self) -> None:
        """Cancel the task (after a shutdown timeout); on_stop does not run."""
        if self._task is not None:
            self._task.cancel()

    async def terminate(self, reason: ExitReason = SHUTDOWN) -> None:
        """Stop gracefully, cancelling after `spec.shutdown_timeout_s`; returns once dead.

        `reason` is what on_stop sees: SHUTDOWN (for good) or RESTART (a fresh incarnation
        follows at once, so state kept outside the actor, such as a connection, stays).
        """
        task = self._task
        if task is None:
            return
        self.request_stop(reason)
        timeout = self.spec.shutdown_timeout_s
        handle = None if timeout is None else self._system.clock.call_later(timeout, self.kill)
        try:
            await asyncio.wait((task,))
        finally:
            if handle is not None:
                handle.cancel()

    async def _run(self, actor: Actor[M]) -> ExitReason:
        try:
            await actor.on_start()
        except Exception as exc:  # let it crash; on_stop is not called after a failed start
            return crash(exc)
        try:
            reason = await self._loop(actor)
        except Exception as exc:  # let it crash: the supervisor records it and decides
            reason = crash(exc)
            current = self._current
            if current is not None and not current.done():
                current.set_exception(exc)
        try:
            await actor.on_stop(reason)
        except Exception as exc:  # reported as the exit reason so the supervisor sees it
            if reason.error is None:
                reason = crash(exc)
            self.log.error("actor.on_stop_failed", exc_info=exc)
        return reason

    async def _loop(self, actor: Actor[M]) -> ExitReason:
        loop = self._system.loop
        while self._stop is None:
            env = self._take()
            if env is None:
                self._busy = False
                self._mbox = None
                waiter = self._waiter = loop.create_future()
                await waiter
                self._waiter = None
                self._busy = True
                continue
            msg, reply = env
            recent = self._recent
            if recent is None and self._system.recent_messages > 0:
                recent = self._recent = deque(maxlen=self._system.recent_messages)
            if recent is not None:
                recent.append((self._system.clock.monotonic(), msg))
            self._current = reply
            result = await actor.receive(msg)
            self._processed += 1
            self._current = None
            if reply is not None and not reply.done():
                reply.set_result(result)
        return self._stop or NORMAL

    def _take(self) -> Envelope | None:
        if self._sys:
            return self._sys.popleft()
        mbox = self._mbox
        if not mbox:
            return None
        env = mbox.popleft()
        space = self._space
        while space:
            fut = space.popleft()
            if not fut.done():
                fut.set_result(None)
                break
        return env

    def _on_done(self, task: asyncio.Task[ExitReason]) -> None:
        if task.cancelled():
            reason = KILLED
        else:
            exc = task.exception()
            reason = task.result() if exc is None else crash(exc)
        if reason.error is not None:
            self._last_error = f"{type(reason.error).__name__}: {reason.error}"
        self._task = None
        self._busy = False
        self._waiter = None
        if self._system.registry.get(self.path) is self:
            del self._system.registry[self.path]
        self._release()
        actor, self._actor = self._actor, None  # a dead ref must not keep old state alive
        if actor is not None:
            for child in actor._child_contexts():  # a killed supervisor must not leak children
                child.kill()
        if self._parent is None:
            self._system.root_exited(self, reason)
        else:
            self._parent.post_system(ChildExited(self, self._incarnation, reason), None)

    def _release(self) -> None:
        """Cancel timers and fail every waiter at once so no caller hangs on a dead actor."""
        for timer in list(self._timers or ()):
            timer.cancel()
        self._timers = None
        pending: list[asyncio.Future[Any] | None] = [self._current]
        pending += [reply for _, reply in self._mbox or ()]
        pending += [reply for _, reply in self._sys or ()]
        pending += list(self._space or ())
        self._current = self._mbox = self._sys = self._space = None
        for fut in pending:
            if fut is not None and not fut.done():
                fut.set_exception(ActorDead(self.path))

    def _add_timer(self, timer: Timer) -> Timer:
        if self._timers is None:
            self._timers = set()
        self._timers.add(timer)
        return timer

    def timer_fired(self, timer: Timer, msg: Any, *, once: bool) -> None:
        """Deliver a timer's message; a full mailbox drops it with a warning."""
        if once and self._timers is not None:
            self._timers.discard(timer)
        try:
            self.enqueue(msg, None)
        except MailboxFull:
            self.log.warning("actor.timer_dropped", reason="mailbox full")
        except ActorDead:
            return

    def discard_timer(self, timer: Timer) -> None:
        """Forget a cancelled timer."""
        if self._timers is not None:
            self._timers.discard(timer)

    def __repr__(self) -> str:
        return f"ActorContext({self.path})"
