"""Supervisors (static and dynamic) with OTP restart types, strategies and restart intensity."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, assert_never

from sigec_actors.runtime.actor import Actor
from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.errors import (
    ActorNotFound,
    ChildExists,
    ChildStartFailed,
    RestartIntensityExceeded,
)
from sigec_actors.runtime.messages import (
    ChildExited,
    RestartChild,
    StartChild,
    SupervisorMsg,
    TerminateChild,
    WhichChildren,
)
from sigec_actors.runtime.ref import ActorRef
from sigec_actors.runtime.spec import (
    RESTART,
    SHUTDOWN,
    ChildSpec,
    ExitReason,
    Restart,
    Strategy,
)

if TYPE_CHECKING:
    from sigec_actors.runtime.system import ActorSystem


class Supervisor(Actor[SupervisorMsg]):
    """Starts its children in order, restarts them by their restart type and its strategy.

    Restart intensity: more than `max_restarts` restart events within `within_s` seconds (on the
    injected clock) make the supervisor stop all children in reverse start order and crash with
    RestartIntensityExceeded, which its own supervisor sees as one crash: escalation happens once.
    A child that exits and is not restarted (TEMPORARY, or TRANSIENT after a normal exit) is
    removed. A factory that raises while restarting a child crashes the supervisor (escalates).
    """

    __slots__ = ("_children", "_history", "_specs", "max_restarts", "strategy", "within_s")

    def __init__(
        self,
        children: Sequence[ChildSpec] = (),
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within_s: float = 5.0,
    ) -> None:
        keys = [spec.key for spec in children]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate child keys: {keys}")
        self._specs = tuple(children)
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.within_s = within_s
        self._children: dict[str, ActorContext[Any]] = {}  # insertion order = start order
        self._history: deque[float] = deque()

    async def on_start(self) -> None:
        """Start the static children in order (each runs its own on_start in its own task)."""
        for spec in self._specs:
            child = self.ctx.new_child(spec)
            child.start()
            self._children[spec.key] = child

    async def receive(self, msg: SupervisorMsg) -> Any:
        """Handle exits of children and control requests, one at a time."""
        match msg:
            case ChildExited():
                await self._child_exited(msg)
                return None
            case StartChild(spec=spec):
                return self._start_child(spec)
            case TerminateChild(key=key):
                return await self._terminate_child(key)
            case RestartChild(key=key):
                return await self._restart_child(key)
            case WhichChildren():
                return self.children()
            case _:
                assert_never(msg)

    async def on_stop(self, reason: ExitReason) -> None:
        """Stop every child in reverse start order, each within its shutdown timeout."""
        await self._stop_children()

    def state_summary(self) -> str:
        """Strategy, child count and restarts in the current intensity window."""
        recent = len(self._history)
        return f"{self.strategy.value}, {len(self._children)} children, {recent} recent restarts"

    def child(self, key: str) -> ActorRef[Any] | None:
        """The child's ref by key, or None."""
        ctx = self._children.get(key)
        return None if ctx is None else ctx.self_ref

    def children(self) -> list[ActorRef[Any]]:
        """Refs of the children in start order."""
        return [ctx.self_ref for ctx in self._children.values()]

    def _child_contexts(self) -> Iterable[ActorContext[Any]]:
        return list(self._children.values())

    async def _child_exited(self, msg: ChildExited) -> None:
        child = msg.child
        if self._children.get(child.key) is not child or child.incarnation != msg.incarnation:
            return  # stale: restarted or removed since; the exit was already handled
        reason, restart = msg.reason, child.spec.restart
        log = self.ctx.log.bind(child=child.path, reason=reason.kind.value, restart=restart.value)
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and not reason.abnormal):
            del self._children[child.key]
            log.info("supervisor.child_removed", error=child.last_error if reason.error else None)
            return
        log.warning("supervisor.child_restart", error=child.last_error, exc_info=reason.error)
        if not self._within_intensity():
            await self._stop_children()
            log.error("supervisor.intensity_exceeded", max_restarts=self.max_restarts,
                      within_s=self.within_s)  # fmt: skip
            raise RestartIntensityExceeded(self.ctx.path, self.max_restarts, self.within_s)
        await self._restart_group(child)

    def _within_intensity(self) -> bool:
        now = self.ctx.clock.monotonic()
        history = self._history
        history.append(now)
        while now - history[0] > self.within_s:
            history.popleft()
        return len(history) <= self.max_restarts

    async def _restart_group(self, failed: ActorContext[Any]) -> None:
        siblings = list(self._children.values())
        if self.strategy is Strategy.ONE_FOR_ONE:
            group = [failed]
        elif self.strategy is Strategy.ONE_FOR_ALL:
            group = siblings
        else:
            group = siblings[siblings.index(failed) :]
        for ctx in reversed(group):
            restarts = ctx is failed or ctx.spec.restart is not Restart.TEMPORARY
            await ctx.terminate(RESTART if restarts else SHUTDOWN)
        for ctx in group:
            if ctx is not failed and ctx.spec.restart is Restart.TEMPORARY:
                del self._children[ctx.key]  # OTP: temporary siblings are not restarted
            else:
                ctx.start(restart=True)

    async def _stop_children(self) -> None:
        for ctx in reversed(list(self._children.values())):
            await ctx.terminate()
        self._children.clear()

    def _start_child(self, spec: ChildSpec) -> ActorRef[Any] | Exception:
        child = self.ctx.new_child(spec)
        if spec.key in self._children:
            return ChildExists(child.path)
        try:
            child.start()
        except Exception as exc:  # the caller's factory failed: the caller gets it, we live on
            error = ChildStartFailed(child.path, f"{type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return error
        self._children[spec.key] = child
        return child.self_ref

    async def _terminate_child(self, key: str) -> Exception | None:
        child = self._children.pop(key, None)
        if child is None:
            return ActorNotFound(f"{self.ctx.path}/{key}")
        await child.terminate()
        return None

    async def _restart_child(self, key: str) -> Exception | None:
        child = self._children.get(key)
        if child is None:
            return ActorNotFound(f"{self.ctx.path}/{key}")
        await child.terminate(RESTART)
        child.start(restart=True)
        return None


class DynamicSupervisor(Supervisor):
    """One-for-one supervisor whose children are started and stopped at run time.

    Children are lost when the dynamic supervisor itself restarts (as in OTP).
    """

    __slots__ = ()

    def __init__(self, *, max_restarts: int = 3, within_s: float = 5.0) -> None:
        super().__init__(
            (), strategy=Strategy.ONE_FOR_ONE, max_restarts=max_restarts, within_s=within_s
        )


class SupervisorRef:
    """Typed handle on a running supervisor: start, stop, restart and find its children.

    Control requests go through the supervisor's system queue (not its bounded mailbox) and are
    serialised with child exits; they fail with ActorDead if the supervisor stops meanwhile.
    """

    __slots__ = ("ref",)

    def __init__(self, ref: ActorRef[Any]) -> None:
        if not isinstance(ref._ctx.actor, Supervisor):
            raise TypeError(f"{ref.path} is not a running supervisor")
        self.ref = ref

    @property
    def path(self) -> str:
        """The supervisor's path."""
        return self.ref.path

    async def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """Start a child; raises ChildExists, ChildStartFailed (factory raised) or ActorDead."""
        reply = await self.ref._ctx.call_system(StartChild(spec))
        if isinstance(reply, Exception):
            raise reply
        assert isinstance(reply, ActorRef)
        return reply

    async def terminate_child(self, key: str) -> None:
        """Stop the child and forget it; raises ActorNotFound for an unknown key."""
        await self._control(TerminateChild(key))

    async def restart_child(self, key: str) -> None:
        """Stop the child and start a fresh incarnation (an operator action, not counted)."""
        await self._control(RestartChild(key))

    async def which_children(self) -> list[ActorRef[Any]]:
        """Children in start order, asked in turn: once it returns, on_start has completed."""
        reply = await self.ref._ctx.call_system(WhichChildren())
        assert isinstance(reply, list)
        return reply

    def children(self) -> list[ActorRef[Any]]:
        """Refs of the current children in start order (empty while the supervisor is down)."""
        actor = self.ref._ctx.actor
        return actor.children() if isinstance(actor, Supervisor) else []

    def child(self, key: str) -> ActorRef[Any] | None:
        """A child's ref by key, or None."""
        actor = self.ref._ctx.actor
        return actor.child(key) if isinstance(actor, Supervisor) else None

    async def _control(self, msg: TerminateChild | RestartChild) -> None:
        reply = await self.ref._ctx.call_system(msg)
        if isinstance(reply, Exception):
            raise reply


class SupervisorAt:
    """A supervisor found by its path at each use, for owners that outlive its slot.

    A SupervisorRef names one slot; when the supervisor's own parent restarts (a restarted
    node supervisor starts fresh children), the old slot is dead for good. This handle follows
    whichever supervisor runs at `path` now; while none does (stopped, or between two
    incarnations), `running` is False and control requests raise ActorNotFound.
    """

    __slots__ = ("_system", "path")

    def __init__(self, system: ActorSystem, path: str) -> None:
        self._system = system
        self.path = path

    def current(self) -> SupervisorRef | None:
        """The supervisor running at `path` and taking requests now, or None."""
        ctx = self._system.registry.get(self.path)
        if ctx is None or not ctx.accepting or not isinstance(ctx.actor, Supervisor):
            return None
        return SupervisorRef(ctx.self_ref)

    @property
    def running(self) -> bool:
        """True while a supervisor runs at `path` and takes requests."""
        return self.current() is not None

    @property
    def ref(self) -> ActorRef[Any]:
        """The current supervisor's ref; raises ActorNotFound."""
        return self._require().ref

    async def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """SupervisorRef.start_child on the current supervisor; raises ActorNotFound too."""
        return await self._require().start_child(spec)

    async def terminate_child(self, key: str) -> None:
        """SupervisorRef.terminate_child on the current supervisor."""
        await self._require().terminate_child(key)

    async def restart_child(self, key: str) -> None:
        """SupervisorRef.restart_child on the current supervisor."""
        await self._require().restart_child(key)

    async def which_children(self) -> list[ActorRef[Any]]:
        """SupervisorRef.which_children on the current supervisor."""
        return await self._require().which_children()

    def children(self) -> list[ActorRef[Any]]:
        """The current supervisor's children (empty while none runs)."""
        current = self.current()
        return [] if current is None else current.children()

    def child(self, key: str) -> ActorRef[Any] | None:
        """A child of the current supervisor by key, or None."""
        current = self.current()
        return None if current is None else current.child(key)

    def _require(self) -> SupervisorRef:
        current = self.current()
        if current is None:
            raise ActorNotFound(self.path)
        return current
