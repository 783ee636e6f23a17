"""Hypothesis state machine over random crashes, stops, sends and operator actions."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from structlog.testing import capture_logs

from sigec_actors.runtime import (
    Actor,
    ActorSystem,
    ChildSpec,
    Restart,
    Strategy,
    Supervisor,
)
from sigec_actors.testing import FakeClock, settle, shutdown

T = TypeVar("T")
KEYS = ("w0", "w1", "w2", "w3")
RESTARTS = {
    "w0": Restart.PERMANENT,
    "w1": Restart.PERMANENT,
    "w2": Restart.TRANSIENT,
    "w3": Restart.TEMPORARY,
}
MAX_RESTARTS, WITHIN_S = 3, 10.0


class Boom(Exception):
    pass


class Worker(Actor[str]):
    def __init__(self) -> None:
        self.pings = 0

    async def receive(self, msg: str) -> Any:
        if msg == "crash":
            raise Boom(self.ctx.path)
        if msg == "stop":
            self.ctx.stop()
            return None
        self.pings += 1
        return self.pings


class SupervisionMachine(RuleBasedStateMachine):
    """The model: which workers exist, the mid supervisor's restart history, escalations."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.system = ActorSystem(clock=self.clock, name="prop")
        self._capture = capture_logs()
        self.logs = self._capture.__enter__()
        self.strategy = Strategy.ONE_FOR_ONE
        self.present: list[str] = list(KEYS)  # in start order
        self.history: list[float] = []
        self.escalations = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @initialize(strategy=st.sampled_from(list(Strategy)))
    def start(self, strategy: Strategy) -> None:
        self.strategy = strategy
        workers = [ChildSpec(k, Worker, restart=RESTARTS[k]) for k in KEYS]
        mid = ChildSpec(
            "mid",
            lambda: Supervisor(
                workers, strategy=strategy, max_restarts=MAX_RESTARTS, within_s=WITHIN_S
            ),
            shutdown_timeout_s=None,
        )
        root = ChildSpec(
            "root", lambda: Supervisor([mid], max_restarts=10**6), shutdown_timeout_s=None
        )

        async def go() -> None:
            await self.system.start(root)
            await settle(self.system)

        self.run(go())

    # -- the model -------------------------------------------------------------------------

    def restart_event(self, key: str) -> None:
        now = self.clock.monotonic()
        self.history = [t for t in self.history if now - t <= WITHIN_S] + [now]
        if len(self.history) > MAX_RESTARTS:
            self.escalations += 1
            self.fresh_mid()
            return
        if self.strategy is Strategy.ONE_FOR_ALL:
            group = list(self.present)
        elif self.strategy is Strategy.REST_FOR_ONE:
            group = self.present[self.present.index(key) :]
        else:
            group = [key]
        for other in group:
            if other != key and RESTARTS[other] is Restart.TEMPORARY:
                self.present.remove(other)

    def fresh_mid(self) -> None:
        self.present = list(KEYS)
        self.history = []

    def exited(self, key: str, *, crashed: bool) -> None:
        restart = RESTARTS[key]
        if restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and crashed):
            self.restart_event(key)
        else:
            self.present.remove(key)

    # -- rules -----------------------------------------------------------------------------

    async def ask_settled(self, key: str, msg: str) -> Any:
        """Ask without timeout; the reply (or error) must be there once the system settles."""
        fut = asyncio.ensure_future(self.system.lookup(f"/root/mid/{key}").ask(msg, timeout=None))
        await settle(self.system)
        await asyncio.sleep(0)
        assert fut.done(), f"ask {msg!r} to {key} still waiting on a settled system"
        return fut.exception() or fut.result()

    @rule(key=st.sampled_from(KEYS))
    def crash(self, key: str) -> None:
        if key not in self.present:
            return
        assert isinstance(self.run(self.ask_settled(key, "crash")), Boom)
        self.exited(key, crashed=True)

    @rule(key=st.sampled_from(KEYS))
    def stop(self, key: str) -> None:
        if key not in self.present:
            return
        assert self.run(self.ask_settled(key, "stop")) is None
        self.exited(key, crashed=False)

    @rule(key=st.sampled_from(KEYS), burst=st.integers(0, 5))
    def send(self, key: str, burst: int) -> None:
        if key not in self.present:
            return
        ref = self.system.lookup(f"/root/mid/{key}")
        for _ in range(burst):
            ref.tell("ping")
        assert isinstance(self.run(self.ask_settled(key, "ping")), int)

    @rule(key=st.sampled_from(KEYS))
    def operator_stop(self, key: str) -> None:
        if key not in self.present:
            return
        self.run(self.system.stop(f"/root/mid/{key}"))
        self.present.remove(key)

    @rule(key=st.sampled_from(KEYS))
    def operator_restart(self, key: str) -> None:
        if key in self.present:
            self.run(self.system.restart(f"/root/mid/{key}"))

    @rule()
    def operator_restart_mid(self) -> None:
        self.run(self.system.restart("/root/mid"))
        self.run(settle(self.system))
        self.fresh_mid()

    @rule(seconds=st.sampled_from([0.5, 3.0, 11.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.run(settle(self.system))

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def registry_matches_the_model_and_the_live_tasks(self) -> None:
        if not self.system.registry:
            return  # before initialize
        expected = {"/root", "/root/mid"} | {f"/root/mid/{k}" for k in self.present}
        assert set(self.system.registry) == expected

        async def tasks() -> set[asyncio.Task[Any]]:
            await settle(self.system)
            return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

        live = self.run(tasks())
        assert live == {ctx._task for ctx in self.system.registry.values()}

    @invariant()
    def permanent_children_are_running(self) -> None:
        if not self.system.registry:
            return
        for key in KEYS:
            if RESTARTS[key] is Restart.PERMANENT and key in self.present:
                assert self.system.lookup(f"/root/mid/{key}").alive

    @invariant()
    def escalations_happen_exactly_once_per_exceeded_intensity(self) -> None:
        events = [e for e in self.logs if e["event"] == "supervisor.intensity_exceeded"]
        assert len(events) == self.escalations
        if self.system.registry:  # each escalation is one crash of mid, seen once by the root
            assert self.system.context("/root/mid").restarts >= self.escalations

    def teardown(self) -> None:
        if self.system.registry:
            self.run(shutdown(self.system, self.clock))
            assert self.system.registry == {}
        self.loop.close()
        self._capture.__exit__(None, None, None)


SupervisionMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSupervision = SupervisionMachine.TestCase
