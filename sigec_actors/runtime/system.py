"""ActorSystem: the root of one node's actor tree, its path registry and operator actions."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from sigec_actors.runtime.clock import Clock, SystemClock
from sigec_actors.runtime.context import ActorContext
from sigec_actors.runtime.deadlines import AskDeadlines
from sigec_actors.runtime.errors import ActorNotFound
from sigec_actors.runtime.messages import RestartChild, TerminateChild
from sigec_actors.runtime.recent import DEFAULT_RECENT_MESSAGES
from sigec_actors.runtime.ref import ActorRef
from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot, detail_of, snapshot_of
from sigec_actors.runtime.spec import RESTART, ChildSpec, ExitReason


class ActorSystem:
    """Runs one root actor (usually a supervisor) and everything below it on the running loop.

    The root's path is `/<root_spec.key>`; a child's path is its parent's path plus `/<key>`.
    The registry maps the path of every running actor to its slot, kept on start and exit.
    A root exit is not restarted: it is recorded in `root_exit` (the node process decides).
    """

    def __init__(self, *, clock: Clock | None = None, name: str = "node",
                 recent_messages: int = DEFAULT_RECENT_MESSAGES) -> None:
        self.name = name
        self.recent_messages = recent_messages  # per actor, for the console; 0 keeps none
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.registry: dict[str, ActorContext[Any]] = {}
        self.root_exit: ExitReason | None = None
        self._root: ActorContext[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: dict[float, AskDeadlines] = {}
        self._log = structlog.get_logger("sigec.actors").bind(system=name)
        self._audit = structlog.get_logger("sigec.audit").bind(system=name)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the system was started on."""
        if self._loop is None:
            raise RuntimeError("ActorSystem.start() has not been called")
        return self._loop

    def ask_deadlines(self, timeout_s: float) -> AskDeadlines:
        """The shared deadline queue for asks with this timeout."""
        queue = self._deadlines.get(timeout_s)
        if queue is None:
            queue = self._deadlines[timeout_s] = AskDeadlines(self.clock, timeout_s)
        return queue

    async def start(self, root_spec: ChildSpec) -> ActorRef[Any]:
        """Start the root actor from its spec and return its ref."""
        if self._root is not None:
            raise RuntimeError(f"actor system {self.name} already has a root")
        self._loop = asyncio.get_running_loop()
        root: ActorContext[Any] = ActorContext(self, None, root_spec)
        root.start()
        self._root = root
        self._log.info("actors.started", root=root.path)
        return root.self_ref

    def lookup(self, path: str) -> ActorRef[Any]:
        """The ref of the running actor at `path`; raises ActorNotFound."""
        return self.context(path).self_ref

    def context(self, path: str) -> ActorContext[Any]:
        """The slot of the running actor at `path` (for runtime helpers and tests)."""
        ctx = self.registry.get(path.rstrip("/") or "/")
        if ctx is None:
            raise ActorNotFound(path)
        return ctx

    async def restart(self, path: str, *, by: str | None = None) -> None:
        """Operator action: stop the actor and start a fresh incarnation; audited."""
        ctx = self.context(path)
        self._audit.info("operator.restart", path=ctx.path, by=by, audit=True)
        if ctx.parent is None:
            await ctx.terminate(RESTART)
            self.root_exit = None
            ctx.start(restart=True)
            return
        reply = await ctx.parent.call_system(RestartChild(ctx.key))
        if isinstance(reply, Exception):
            raise reply

    async def stop(self, path: str, *, by: str | None = None) -> None:
        """Operator action: stop the actor and remove it from its supervisor; audited."""
        ctx = self.context(path)
        self._audit.info("operator.stop", path=ctx.path, by=by, audit=True)
        if ctx.parent is None:
            await ctx.terminate()
            return
        reply = await ctx.parent.call_system(TerminateChild(ctx.key))
        if isinstance(reply, Exception):
            raise reply

    def snapshot(self) -> ActorSnapshot:
        """The whole tree as data (see ActorSnapshot)."""
        if self._root is None:
            raise RuntimeError("ActorSystem.start() has not been called")
        return snapshot_of(self._root)

    def detail(self, path: str) -> ActorDetail:
        """One running actor with its recent messages; raises ActorNotFound."""
        return detail_of(self.context(path), self.name)

    async def shutdown(self) -> None:
        """Stop the root, which stops its children in reverse start order, and wait."""
        if self._root is not None:
            await self._root.terminate()
            self._log.info("actors.shutdown", root=self._root.path)

    def root_exited(self, root: ActorContext[Any], reason: ExitReason) -> None:
        """Called by the root slot when its incarnation ends."""
        self.root_exit = reason
        if reason.abnormal:
            self._log.error("actors.root_crashed", root=root.path, error=root.last_error)
