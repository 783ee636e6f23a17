"""ActorSystem: lookup by path, snapshots as JSON, operator restart and stop (audited)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sigec_actors.runtime import (
    Actor,
    ActorNotFound,
    ActorSnapshot,
    ActorSystem,
    ChildSpec,
    DynamicSupervisor,
    Supervisor,
    SupervisorRef,
)
from sigec_actors.testing import FakeClock, advance, running_system, settle


class Echo(Actor[str]):
    def __init__(self) -> None:
        self.seen = 0

    async def receive(self, msg: str) -> Any:
        self.seen += 1
        if msg == "crash":
            raise RuntimeError("bad message")
        return msg

    def state_summary(self) -> str:
        return f"seen={self.seen}"


def root_spec() -> ChildSpec:
    workers = [ChildSpec("a", Echo, kind="Echo"), ChildSpec("b", Echo)]
    return ChildSpec(
        "node-1",
        lambda: Supervisor(
            [
                ChildSpec("workers", lambda: Supervisor(workers), shutdown_timeout_s=None),
                ChildSpec("dyn", DynamicSupervisor, kind="Pool", shutdown_timeout_s=None),
            ]
        ),
        shutdown_timeout_s=None,
    )


async def test_lookup_by_path_and_by_key() -> None:
    async with running_system(root_spec()) as (system, root):
        assert root.path == "/node-1"
        a = system.lookup("/node-1/workers/a")
        assert (a.path, a.key, a.alive) == ("/node-1/workers/a", "a", True)
        assert system.lookup("/node-1/workers/a/") is a
        workers = SupervisorRef(system.lookup("/node-1/workers"))
        assert workers.child("a") is a
        assert workers.child("zzz") is None
        assert [r.key for r in workers.children()] == ["a", "b"]
        with pytest.raises(ActorNotFound) as info:
            system.lookup("/node-1/workers/zzz")
        assert info.value.path == "/node-1/workers/zzz"
        with pytest.raises(TypeError):
            SupervisorRef(a)
        assert sorted(system.registry) == [
            "/node-1", "/node-1/dyn", "/node-1/workers", "/node-1/workers/a", "/node-1/workers/b",
        ]  # fmt: skip


async def test_snapshot_json_shape() -> None:
    clock = FakeClock()
    async with running_system(root_spec(), clock=clock) as (system, _):
        a = system.lookup("/node-1/workers/a")
        await a.ask("hello")
        with pytest.raises(RuntimeError):
            await a.ask("crash")
        await advance(clock, system, 2.5)
        doc = msgspec.json.decode(msgspec.json.encode(system.snapshot()))
    assert list(doc) == [
        "path", "kind", "state", "mailboxDepth", "processed", "restarts", "uptimeS",
        "lastError", "children",
    ]  # fmt: skip
    assert doc["kind"] == "Supervisor"
    workers = doc["children"][0]
    assert workers["path"] == "/node-1/workers"
    assert [c["path"] for c in workers["children"]] == ["/node-1/workers/a", "/node-1/workers/b"]
    a_doc = workers["children"][0]
    assert a_doc == {
        "path": "/node-1/workers/a",
        "kind": "Echo",
        "state": "seen=0",  # a fresh incarnation after the crash
        "mailboxDepth": 0,
        "processed": 1,
        "restarts": 1,
        "uptimeS": 2.5,
        "lastError": "RuntimeError: bad message",
        "children": [],
    }
    assert doc["children"][1]["kind"] == "Pool"
    assert doc["children"][1]["state"].startswith("one_for_one, 0 children")


async def test_snapshot_is_a_frozen_struct_that_round_trips() -> None:
    async with running_system(root_spec()) as (system, _):
        snap = system.snapshot()
    with pytest.raises(AttributeError):
        snap.path = "/x"  # type: ignore[misc]
    again = msgspec.json.decode(msgspec.json.encode(snap), type=ActorSnapshot)
    assert again == snap


async def test_operator_restart_is_audited_and_gives_a_fresh_incarnation(
    logs: list[dict[str, Any]],
) -> None:
    async with running_system(root_spec()) as (system, _):
        a = system.lookup("/node-1/workers/a")
        await a.ask("x")
        await system.restart("/node-1/workers/a", by="operator-7")
        assert a.alive
        assert system.snapshot().children[0].children[0].state == "seen=0"
        assert system.context(a.path).restarts == 1
        await system.restart("/node-1/workers", by="operator-7")  # a subtree
        await settle(system)
        assert system.lookup("/node-1/workers/a") is not a  # children of a restarted supervisor
        assert not a.alive
    audit = [e for e in logs if e.get("audit")]
    assert [(e["event"], e["path"], e["by"]) for e in audit] == [
        ("operator.restart", "/node-1/workers/a", "operator-7"),
        ("operator.restart", "/node-1/workers", "operator-7"),
    ]


async def test_operator_stop_removes_the_actor(logs: list[dict[str, Any]]) -> None:
    async with running_system(root_spec()) as (system, _):
        b = system.lookup("/node-1/workers/b")
        await system.stop(b.path, by="ops")
        assert not b.alive
        with pytest.raises(ActorNotFound):
            system.lookup(b.path)
        with pytest.raises(ActorNotFound):
            await system.stop(b.path)
        assert [c.key for c in SupervisorRef(system.lookup("/node-1/workers")).children()] == [
            "a"
        ]
    assert any(e["event"] == "operator.stop" and e["by"] == "ops" for e in logs)


async def test_operator_restart_and_stop_of_the_root() -> None:
    system = ActorSystem(clock=FakeClock(), name="node-1")
    root = await system.start(root_spec())
    await settle(system)
    await system.restart("/node-1")
    await settle(system)
    assert root.alive
    assert system.context("/node-1").restarts == 1
    assert len(system.registry) == 5
    await system.stop("/node-1")
    assert system.registry == {}
    with pytest.raises(RuntimeError, match="already has a root"):
        await system.start(root_spec())


async def test_system_requires_start() -> None:
    system = ActorSystem()
    with pytest.raises(RuntimeError):
        system.snapshot()
    with pytest.raises(RuntimeError):
        _ = system.loop
    await system.shutdown()  # nothing to stop
