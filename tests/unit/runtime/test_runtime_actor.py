"""Actors: tell, ask, timeouts, ActorDead, bounded mailboxes, timers, hooks."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from sigec_actors.runtime import (
    Actor,
    ActorDead,
    ActorRef,
    ActorSystem,
    AskTimeout,
    ChildSpec,
    ExitKind,
    ExitReason,
    MailboxFull,
    Restart,
    Supervisor,
)
from sigec_actors.runtime.deadlines import AskDeadlines
from sigec_actors.testing import FakeClock, advance, running_system, settle


class Add(msgspec.Struct, frozen=True):
    n: int


class Get(msgspec.Struct, frozen=True):
    pass


class Fail(msgspec.Struct, frozen=True):
    pass


class Block(msgspec.Struct, frozen=True):
    """Park the actor on `gate` until the test opens it."""


class StopMe(msgspec.Struct, frozen=True):
    pass


class Tick(msgspec.Struct, frozen=True):
    pass


Msg = Add | Get | Fail | Block | StopMe | Tick


class Boom(Exception):
    pass


class Counter(Actor[Msg]):
    """A small actor whose calls are recorded in a shared journal."""

    def __init__(self, journal: list[str], gate: asyncio.Event | None = None) -> None:
        self.total = 0
        self.ticks = 0
        self.journal = journal
        self.gate = gate

    async def on_start(self) -> None:
        self.journal.append(f"start {self.ctx.key}")

    async def receive(self, msg: Msg) -> Any:
        match msg:
            case Add(n=n):
                self.total += n
                return self.total
            case Get():
                return self.total
            case Fail():
                raise Boom("failed on purpose")
            case Block():
                assert self.gate is not None
                await self.gate.wait()
                return "unblocked"
            case StopMe():
                self.ctx.stop()
                return "stopping"
            case Tick():
                self.ticks += 1
                return self.ticks

    async def on_stop(self, reason: ExitReason) -> None:
        self.journal.append(f"stop {self.ctx.key} {reason.kind.value}")

    def state_summary(self) -> str:
        return f"total={self.total}"


def tree(
    journal: list[str],
    gate: asyncio.Event | None = None,
    *,
    mailbox_size: int = 1000,
    restart: Restart = Restart.TEMPORARY,
) -> ChildSpec:
    child = ChildSpec(
        "counter", lambda: Counter(journal, gate), restart=restart, mailbox_size=mailbox_size
    )
    return ChildSpec("root", lambda: Supervisor([child], max_restarts=100), shutdown_timeout_s=None)


async def counter(system: ActorSystem) -> ActorRef[Msg]:
    return system.lookup("/root/counter")


async def test_tell_then_ask_in_order() -> None:
    journal: list[str] = []
    async with running_system(tree(journal)) as (system, _):
        ref = await counter(system)
        for n in range(1, 5):
            ref.tell(Add(n))
        assert await ref.ask(Get()) == 10
        assert await ref.ask(Add(5)) == 15
        assert system.context(ref.path).processed == 6
    assert journal == ["start counter", "stop counter shutdown"]


async def test_one_message_at_a_time() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    async with running_system(tree(journal, gate)) as (system, _):
        ref = await counter(system)
        blocked = asyncio.ensure_future(ref.ask(Block(), timeout=None))
        later = asyncio.ensure_future(ref.ask(Add(1), timeout=None))
        await settle_some()
        assert not later.done()
        assert system.context(ref.path).mailbox_depth == 1
        gate.set()
        assert await blocked == "unblocked"
        assert await later == 1


async def settle_some(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_ask_timeout_runs_on_the_injected_clock() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    clock = FakeClock()
    async with running_system(tree(journal, gate), clock=clock) as (system, _):
        ref = await counter(system)
        pending = asyncio.ensure_future(ref.ask(Block(), timeout=2.0))
        await settle_some()
        clock.advance(1.9)
        await settle_some()
        assert not pending.done()
        clock.advance(0.2)
        with pytest.raises(AskTimeout) as info:
            await pending
        assert info.value.path == "/root/counter"
        assert info.value.timeout_s == 2.0
        gate.set()
        assert await ref.ask(Get()) == 0  # the late reply was dropped, the actor lives on


async def test_each_ask_expires_at_its_own_deadline() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    clock = FakeClock()
    async with running_system(tree(journal, gate), clock=clock) as (system, _):
        ref = await counter(system)
        first = asyncio.ensure_future(ref.ask(Block(), timeout=2.0))
        await settle_some()
        clock.advance(1.0)
        second = asyncio.ensure_future(ref.ask(Get(), timeout=2.0))
        third = asyncio.ensure_future(ref.ask(Get(), timeout=0.5))
        await settle_some()
        clock.advance(0.5)
        await settle_some()
        assert third.done() and not first.done()
        clock.advance(0.5)
        await settle_some()
        assert first.done() and not second.done()
        clock.advance(1.0)
        for fut in (first, second, third):
            with pytest.raises(AskTimeout):
                await fut
        gate.set()


async def test_answered_asks_do_not_pile_up_behind_a_stuck_one() -> None:
    clock = FakeClock()
    deadlines = AskDeadlines(clock, 5.0)
    loop = asyncio.get_running_loop()
    stuck: asyncio.Future[Any] = loop.create_future()
    deadlines.add(stuck, "/stuck")
    for _ in range(20_000):
        answered: asyncio.Future[Any] = loop.create_future()
        deadlines.add(answered, "/fast")
        answered.set_result(None)
    assert len(deadlines) <= 4097  # compacted instead of holding 20,000 answered asks
    clock.advance(5.0)
    with pytest.raises(AskTimeout) as info:
        await stuck
    assert info.value.path == "/stuck"
    assert len(deadlines) == 0


async def test_receive_error_reaches_the_asker_and_crashes_the_actor() -> None:
    journal: list[str] = []
    async with running_system(tree(journal, restart=Restart.PERMANENT)) as (system, _):
        ref = await counter(system)
        await ref.ask(Add(7))
        with pytest.raises(Boom, match="failed on purpose"):
            await ref.ask(Fail())
        await settle(system)
        # the same ref reaches the restarted incarnation, whose state is fresh
        assert await ref.ask(Get()) == 0
        ctx = system.context(ref.path)
        assert ctx.restarts == 1
        assert ctx.last_error == "Boom: failed on purpose"
    assert journal[:3] == ["start counter", "stop counter crash", "start counter"]


async def test_pending_asks_fail_with_actor_dead_when_the_actor_stops() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    async with running_system(tree(journal, gate)) as (system, _):
        ref = await counter(system)
        in_flight = asyncio.ensure_future(ref.ask(Block(), timeout=None))
        queued = [asyncio.ensure_future(ref.ask(Add(1), timeout=None)) for _ in range(3)]
        await settle_some()
        stopping = asyncio.ensure_future(system.stop(ref.path))
        await settle_some()
        gate.set()  # the in-flight message finishes, the queued ones never run
        await stopping
        assert await in_flight == "unblocked"
        for fut in queued:
            with pytest.raises(ActorDead) as info:
                await fut
            assert info.value.path == "/root/counter"
        assert not ref.alive
        with pytest.raises(ActorDead):
            ref.tell(Add(1))
        with pytest.raises(ActorDead):
            await ref.ask(Get())


async def test_pending_asks_fail_with_actor_dead_when_another_message_crashes_it() -> None:
    journal: list[str] = []
    async with running_system(tree(journal)) as (system, _):
        ref = await counter(system)
        crash = asyncio.ensure_future(ref.ask(Fail(), timeout=None))
        queued = asyncio.ensure_future(ref.ask(Get(), timeout=None))
        with pytest.raises(Boom):
            await crash
        with pytest.raises(ActorDead):
            await queued
        await settle(system)
        assert "/root/counter" not in system.registry  # TEMPORARY: removed


async def test_killed_actor_fails_its_in_flight_ask() -> None:
    journal: list[str] = []
    gate = asyncio.Event()  # never opened: the actor ignores the stop request
    clock = FakeClock()
    async with running_system(tree(journal, gate), clock=clock) as (system, _):
        ref = await counter(system)
        in_flight = asyncio.ensure_future(ref.ask(Block(), timeout=None))
        await settle_some()
        stopping = asyncio.ensure_future(system.stop(ref.path))
        await settle_some()
        assert not stopping.done()
        clock.advance(5.0)  # the default shutdown timeout
        await stopping
        with pytest.raises(ActorDead):
            await in_flight
    assert journal == ["start counter"]  # a killed actor's on_stop does not run


async def test_tell_to_a_full_mailbox_raises_mailbox_full() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    async with running_system(tree(journal, gate, mailbox_size=3)) as (system, _):
        ref = await counter(system)
        ref.tell(Block())
        await settle_some()  # Block is being processed; the mailbox is empty again
        for n in range(3):
            ref.tell(Add(n))
        with pytest.raises(MailboxFull) as info:
            ref.tell(Add(100))
        assert info.value.capacity == 3
        with pytest.raises(MailboxFull):
            await ref.ask(Get())
        gate.set()
        await settle(system)
        assert await ref.ask(Get()) == 3  # 0 + 1 + 2: the rejected message never ran


async def test_send_awaits_space_in_order() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    async with running_system(tree(journal, gate, mailbox_size=2)) as (system, _):
        ref = await counter(system)
        ref.tell(Block())
        await settle_some()
        ref.tell(Add(1))
        ref.tell(Add(2))
        senders = [asyncio.ensure_future(ref.send(Add(n))) for n in (10, 20, 30)]
        await settle_some()
        assert not any(s.done() for s in senders)
        assert system.context(ref.path).mailbox_depth == 2
        gate.set()
        await asyncio.gather(*senders)
        assert await ref.ask(Get()) == 63


async def test_send_fails_with_actor_dead_if_the_actor_stops_while_waiting() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    async with running_system(tree(journal, gate, mailbox_size=1)) as (system, _):
        ref = await counter(system)
        ref.tell(Block())
        await settle_some()
        ref.tell(Add(1))
        waiting = asyncio.ensure_future(ref.send(Add(2)))
        stopping = asyncio.ensure_future(system.stop(ref.path))
        await settle_some()
        gate.set()
        await stopping
        with pytest.raises(ActorDead):
            await waiting


async def test_timers_fire_on_the_fake_clock_and_stop_with_the_actor() -> None:
    journal: list[str] = []
    clock = FakeClock()
    async with running_system(tree(journal), clock=clock) as (system, _):
        ref = await counter(system)
        ctx = system.context(ref.path)
        ctx.every(1.0, Tick())
        once = ctx.after(2.5, Add(5))
        await advance(clock, system, 3.0)
        # timeout=None: no ask deadline timer, so clock.pending counts only the actor's timers
        assert await ref.ask(Tick(), timeout=None) == 4  # three timer ticks, then ours
        assert await ref.ask(Get(), timeout=None) == 5
        cancelled = ctx.after(1.0, Add(100))
        cancelled.cancel()
        once.cancel()  # already fired: harmless
        await advance(clock, system, 1.0)
        assert await ref.ask(Get(), timeout=None) == 5
        assert clock.pending == 1
        await system.stop(ref.path)
        assert clock.pending == 0  # the periodic timer was cancelled by the stop


async def test_timer_message_to_a_full_mailbox_is_dropped() -> None:
    journal: list[str] = []
    gate = asyncio.Event()
    clock = FakeClock()
    async with running_system(tree(journal, gate, mailbox_size=1), clock=clock) as (system, _):
        ref = await counter(system)
        ref.tell(Block())
        await settle_some()
        system.context(ref.path).every(1.0, Tick())
        clock.advance(3.0)  # three ticks, one fits
        gate.set()
        await settle(system)
        assert await ref.ask(Tick()) == 2


async def test_ctx_stop_is_a_normal_exit() -> None:
    journal: list[str] = []
    async with running_system(tree(journal, restart=Restart.TRANSIENT)) as (system, _):
        ref = await counter(system)
        assert await ref.ask(StopMe()) == "stopping"
        await settle(system)
        assert not ref.alive
        assert "/root/counter" not in system.registry  # TRANSIENT + normal: not restarted
    assert journal == ["start counter", "stop counter normal"]


class FailingStart(Actor[Any]):
    """Fails to start the first time only."""

    starts = 0

    async def on_start(self) -> None:
        FailingStart.starts += 1
        if FailingStart.starts == 1:
            raise Boom("no start")


class FailingStop(Actor[Any]):
    async def receive(self, msg: Any) -> Any:
        self.ctx.stop()

    async def on_stop(self, reason: ExitReason) -> None:
        raise Boom("no stop")


async def test_failing_hooks_are_crashes() -> None:
    specs = [
        ChildSpec("start", FailingStart, restart=Restart.TRANSIENT),
        ChildSpec("stop", FailingStop, restart=Restart.TRANSIENT),
    ]
    root = ChildSpec("root", lambda: Supervisor(specs, max_restarts=100), shutdown_timeout_s=None)
    async with running_system(root) as (system, _):
        snap = {c.path: c for c in system.snapshot().children}
        assert snap["/root/start"].last_error == "Boom: no start"
        assert snap["/root/start"].restarts == 1
        ref = system.lookup("/root/stop")
        await ref.ask("anything")
        await settle(system)
        assert system.context("/root/stop").last_error == "Boom: no stop"
        assert system.context("/root/stop").restarts == 1
        await system.stop("/root/start")


def test_exit_reason_abnormal() -> None:
    assert ExitReason(ExitKind.CRASH, Boom()).abnormal
    assert ExitReason(ExitKind.KILLED).abnormal
    assert not ExitReason(ExitKind.NORMAL).abnormal
    assert not ExitReason(ExitKind.SHUTDOWN).abnormal


def test_child_spec_validates_key_and_size() -> None:
    with pytest.raises(ValueError, match="key"):
        ChildSpec("a/b", Supervisor)
    with pytest.raises(ValueError, match="mailbox_size"):
        ChildSpec("a", Supervisor, mailbox_size=0)
