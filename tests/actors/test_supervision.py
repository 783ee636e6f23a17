"""Supervision: strategies, restart types, intensity and escalation, shutdown order, dynamics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sigec_actors.runtime import (
    Actor,
    ActorDead,
    ActorNotFound,
    ActorSystem,
    ChildExists,
    ChildSpec,
    ChildStartFailed,
    DynamicSupervisor,
    ExitReason,
    Restart,
    RestartIntensityExceeded,
    Strategy,
    Supervisor,
    SupervisorRef,
)
from sigec_actors.testing import FakeClock, advance, running_system, settle


class Boom(Exception):
    pass


class Worker(Actor[str]):
    """Counts pings; 'crash' raises, 'stop' stops normally, 'hang' never returns."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self.pings = 0

    async def on_start(self) -> None:
        self.journal.append(f"start {self.ctx.key}")

    async def receive(self, msg: str) -> Any:
        if msg == "crash":
            raise Boom(self.ctx.key)
        if msg == "stop":
            self.ctx.stop()
        if msg == "hang":
            await asyncio.get_running_loop().create_future()
        self.pings += 1
        return self.pings

    async def on_stop(self, reason: ExitReason) -> None:
        self.journal.append(f"stop {self.ctx.key} {reason.kind.value}")


def workers(journal: list[str], *restarts: Restart) -> list[ChildSpec]:
    return [
        ChildSpec(f"w{i}", lambda: Worker(journal), restart=r) for i, r in enumerate(restarts)
    ]


def root(children: list[ChildSpec], **kw: Any) -> ChildSpec:
    return ChildSpec("root", lambda: Supervisor(children, **kw), shutdown_timeout_s=None)


async def crash(system: ActorSystem, path: str) -> None:
    with pytest.raises(Boom):
        await system.lookup(path).ask("crash")
    await settle(system)


P, T, TMP = Restart.PERMANENT, Restart.TRANSIENT, Restart.TEMPORARY


async def test_one_for_one_restarts_only_the_crashed_child() -> None:
    journal: list[str] = []
    async with running_system(root(workers(journal, P, P, P))) as (system, _):
        for key in ("w0", "w1", "w2"):
            await system.lookup(f"/root/{key}").ask("ping")
        journal.clear()
        await crash(system, "/root/w1")
        assert journal == ["stop w1 crash", "start w1"]
        assert await system.lookup("/root/w0").ask("ping") == 2  # untouched state
        assert await system.lookup("/root/w1").ask("ping") == 1  # fresh state
        assert await system.lookup("/root/w2").ask("ping") == 2


async def test_one_for_all_restarts_everyone_in_reverse_then_in_order() -> None:
    journal: list[str] = []
    spec = root(workers(journal, P, P, P), strategy=Strategy.ONE_FOR_ALL)
    async with running_system(spec) as (system, _):
        journal.clear()
        await crash(system, "/root/w1")
        assert journal == [
            "stop w1 crash", "stop w2 restart", "stop w0 restart",
            "start w0", "start w1", "start w2",
        ]  # fmt: skip
        snap = system.snapshot()
        assert [c.restarts for c in snap.children] == [1, 1, 1]


async def test_rest_for_one_restarts_the_child_and_those_started_after_it() -> None:
    journal: list[str] = []
    spec = root(workers(journal, P, P, P, P), strategy=Strategy.REST_FOR_ONE)
    async with running_system(spec) as (system, _):
        journal.clear()
        await crash(system, "/root/w1")
        assert journal == [
            "stop w1 crash", "stop w3 restart", "stop w2 restart",
            "start w1", "start w2", "start w3",
        ]  # fmt: skip


async def test_one_for_all_does_not_restart_temporary_siblings() -> None:
    journal: list[str] = []
    spec = root(workers(journal, P, TMP), strategy=Strategy.ONE_FOR_ALL)
    async with running_system(spec) as (system, _):
        await crash(system, "/root/w0")
        assert [c.key for c in SupervisorRef(system.lookup("/root")).children()] == ["w0"]


@pytest.mark.parametrize(
    ("restart", "message", "restarted"),
    [
        (P, "crash", True),
        (P, "stop", True),
        (T, "crash", True),
        (T, "stop", False),
        (TMP, "crash", False),
        (TMP, "stop", False),
    ],
)
async def test_restart_types(restart: Restart, message: str, restarted: bool) -> None:
    journal: list[str] = []
    async with running_system(root(workers(journal, restart))) as (system, _):
        ref = system.lookup("/root/w0")
        if message == "crash":
            await crash(system, ref.path)
        else:
            await ref.ask("stop")
            await settle(system)
        assert ref.alive is restarted
        assert ("/root/w0" in system.registry) is restarted
        assert (SupervisorRef(system.lookup("/root")).child("w0") is not None) is restarted


async def test_intensity_exceeded_stops_children_and_escalates_exactly_once(
    logs: list[dict[str, Any]],
) -> None:
    journal: list[str] = []
    clock = FakeClock()
    mid = ChildSpec(
        "mid",
        lambda: Supervisor(workers(journal, P, P), max_restarts=2, within_s=10),
        shutdown_timeout_s=None,
    )
    async with running_system(root([mid], max_restarts=10), clock=clock) as (system, _):
        mid_ctx = system.context("/root/mid")
        await crash(system, "/root/mid/w0")
        await advance(clock, system, 1)
        await crash(system, "/root/mid/w1")
        await advance(clock, system, 1)
        assert mid_ctx.restarts == 0
        journal.clear()
        await crash(system, "/root/mid/w0")  # the third restart within 10 s
        assert journal[:3] == ["stop w0 crash", "stop w1 shutdown", "start w0"]
        assert mid_ctx.restarts == 1  # the root restarted mid once: one escalation
        assert mid_ctx.last_error is not None
        assert mid_ctx.last_error.startswith("RestartIntensityExceeded")
        escalations = [e for e in logs if e["event"] == "supervisor.intensity_exceeded"]
        assert len(escalations) == 1
        assert escalations[0]["path"] == "/root/mid"
        assert system.lookup("/root/mid/w0").alive and system.lookup("/root/mid/w1").alive


async def test_restarts_outside_the_window_do_not_count() -> None:
    journal: list[str] = []
    clock = FakeClock()
    spec = root(workers(journal, P), max_restarts=1, within_s=5)
    async with running_system(spec, clock=clock) as (system, _):
        for _ in range(5):
            await crash(system, "/root/w0")
            await advance(clock, system, 6)
        assert system.root_exit is None
        assert system.context("/root/w0").restarts == 5


async def test_root_escalation_is_recorded_not_restarted() -> None:
    journal: list[str] = []
    async with running_system(root(workers(journal, P), max_restarts=0)) as (system, r):
        await crash(system, "/root/w0")
        assert system.root_exit is not None
        assert isinstance(system.root_exit.error, RestartIntensityExceeded)
        assert system.root_exit.error.max_restarts == 0
        assert not r.alive
        assert system.registry == {}
        assert journal == ["start w0", "stop w0 crash"]


async def test_shutdown_stops_children_in_reverse_start_order() -> None:
    journal: list[str] = []
    inner = ChildSpec(
        "inner", lambda: Supervisor(workers(journal, P, P)), shutdown_timeout_s=None
    )
    children = [*workers(journal, P), inner, ChildSpec("last", lambda: Worker(journal))]
    system = ActorSystem(clock=FakeClock())
    await system.start(root(children))
    await settle(system)
    journal.clear()
    await system.shutdown()
    assert journal == ["stop last shutdown", "stop w1 shutdown", "stop w0 shutdown",
                       "stop w0 shutdown"]  # fmt: skip
    assert system.registry == {}


async def test_shutdown_kills_a_child_after_its_timeout_and_goes_on() -> None:
    journal: list[str] = []
    clock = FakeClock()
    children = [
        ChildSpec("first", lambda: Worker(journal)),
        ChildSpec("stuck", lambda: Worker(journal), shutdown_timeout_s=2.0),
    ]
    system = ActorSystem(clock=clock)
    await system.start(root(children))
    await settle(system)
    stuck = system.lookup("/root/stuck")
    hanging = asyncio.ensure_future(stuck.ask("hang", timeout=None))
    await asyncio.sleep(0)
    journal.clear()
    done = asyncio.ensure_future(system.shutdown())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not done.done() and journal == []
    clock.advance(2.0)
    await done
    assert journal == ["stop first shutdown"]  # the killed child's on_stop did not run
    with pytest.raises(ActorDead):
        await hanging
    assert system.registry == {}


async def test_a_crash_in_one_child_never_affects_another_mailbox_or_state() -> None:
    journal: list[str] = []
    gate = asyncio.Event()

    class Slow(Worker):
        async def receive(self, msg: str) -> Any:
            if msg == "wait":
                await gate.wait()
            return await super().receive(msg)

    spec = ChildSpec(
        "pool",
        lambda: DynamicSupervisor(max_restarts=100),
        shutdown_timeout_s=None,
    )
    async with running_system(spec) as (system, _):
        pool = SupervisorRef(system.lookup("/pool"))
        a = await pool.start_child(ChildSpec("CP-A", lambda: Slow(journal), restart=T))
        b = await pool.start_child(ChildSpec("CP-B", lambda: Slow(journal), restart=T))
        for _ in range(3):
            await b.ask("ping")
        b.tell("wait")
        queued = [asyncio.ensure_future(b.ask("ping", timeout=None)) for _ in range(5)]
        await asyncio.sleep(0)
        depth_before = system.context(b.path).mailbox_depth
        for _ in range(10):
            with pytest.raises(Boom):
                await a.ask("crash")
            for _ in range(10):  # b stays busy, so settle() cannot be used here
                await asyncio.sleep(0)
            assert a.alive
        assert system.context(b.path).mailbox_depth == depth_before == 5
        gate.set()
        assert await asyncio.gather(*queued) == [5, 6, 7, 8, 9]
        assert system.context(b.path).restarts == 0
        assert system.context(a.path).restarts == 10
        assert await a.ask("ping") == 1


async def test_dynamic_supervisor_start_and_terminate_children() -> None:
    journal: list[str] = []
    spec = ChildSpec("pool", DynamicSupervisor, shutdown_timeout_s=None)
    async with running_system(spec) as (system, _):
        pool = SupervisorRef(system.lookup("/pool"))
        refs = [
            await pool.start_child(ChildSpec(f"CP-{i:03}", lambda: Worker(journal)))
            for i in range(3)
        ]
        assert [r.path for r in refs] == ["/pool/CP-000", "/pool/CP-001", "/pool/CP-002"]
        assert system.lookup("/pool/CP-001") is refs[1]
        assert pool.children() == refs
        with pytest.raises(ChildExists) as exists:
            await pool.start_child(ChildSpec("CP-001", lambda: Worker(journal)))
        assert exists.value.path == "/pool/CP-001"
        await pool.terminate_child("CP-001")
        assert not refs[1].alive
        assert [r.key for r in pool.children()] == ["CP-000", "CP-002"]
        with pytest.raises(ActorNotFound):
            await pool.terminate_child("CP-001")
        again = await pool.start_child(ChildSpec("CP-001", lambda: Worker(journal)))
        assert again is not refs[1] and again.alive
        await pool.restart_child("CP-000")
        assert refs[0].alive
        assert system.context(refs[0].path).restarts == 1
        journal.clear()
    assert journal == ["stop CP-001 shutdown", "stop CP-002 shutdown", "stop CP-000 shutdown"]


async def test_dynamic_start_child_reports_a_failing_factory() -> None:
    def broken() -> Worker:
        raise Boom("cannot build")

    spec = ChildSpec("pool", DynamicSupervisor, shutdown_timeout_s=None)
    async with running_system(spec) as (system, _):
        pool = SupervisorRef(system.lookup("/pool"))
        with pytest.raises(ChildStartFailed) as info:
            await pool.start_child(ChildSpec("CP-X", broken))
        assert info.value.path == "/pool/CP-X"
        assert isinstance(info.value.__cause__, Boom)
        assert pool.ref.alive
        assert "/pool/CP-X" not in system.registry


async def test_control_calls_fail_with_actor_dead_once_the_supervisor_is_gone() -> None:
    journal: list[str] = []
    spec = ChildSpec("pool", DynamicSupervisor, shutdown_timeout_s=None)
    system = ActorSystem(clock=FakeClock())
    await system.start(spec)
    await settle(system)
    pool = SupervisorRef(system.lookup("/pool"))
    await system.shutdown()
    with pytest.raises(ActorDead):
        await pool.start_child(ChildSpec("CP-1", lambda: Worker(journal)))
    assert pool.children() == []
    assert pool.child("CP-1") is None


def test_duplicate_static_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor([ChildSpec("a", Supervisor), ChildSpec("a", Supervisor)])
