"""The node tree: paths, handles, and a charge-point-like actor started the way the gateway will."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from sigec_actors.node_tree import (
    ChargePointSupervisor,
    FirmwareSupervisor,
    NodeSupervisor,
    NodeTree,
    V2GSupervisor,
    build_node_tree,
)
from sigec_actors.runtime import (
    Actor,
    ActorNotFound,
    ActorSystem,
    ChildSpec,
    ExitReason,
    Restart,
)
from sigec_actors.testing import FakeClock, settle, shutdown


class Heartbeat(msgspec.Struct, frozen=True):
    pass


class Explode(msgspec.Struct, frozen=True):
    pass


class FakeStation(Actor[Heartbeat | Explode]):
    """Stands in for the ChargePoint actor: rebuilds its state from 'storage' on start."""

    def __init__(self, station_id: str, storage: dict[str, int]) -> None:
        self.station_id = station_id
        self.storage = storage
        self.beats = 0

    async def on_start(self) -> None:
        self.beats = self.storage.get(self.station_id, 0)

    async def receive(self, msg: Heartbeat | Explode) -> Any:
        match msg:
            case Heartbeat():
                self.beats += 1
                self.storage[self.station_id] = self.beats  # persist before replying
                return self.ctx.clock.now().isoformat()
            case Explode():
                raise RuntimeError("station bug")

    def state_summary(self) -> str:
        return f"beats={self.beats}"


def station_spec(station_id: str, storage: dict[str, int]) -> ChildSpec:
    return ChildSpec(
        station_id,
        lambda: FakeStation(station_id, storage),
        restart=Restart.TRANSIENT,
        kind="ChargePoint",
        mailbox_size=100,
    )


async def test_node_tree_paths_and_kinds() -> None:
    clock = FakeClock()
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    assert tree.root.path == "/node-1"
    assert tree.charge_points.path == "/node-1/charge-points"
    assert tree.v2g.path == "/node-1/v2g"
    assert tree.firmware.path == "/node-1/firmware"
    assert tree.reports.path == "/node-1/reports"
    snap = system.snapshot()
    assert snap.kind == "NodeSupervisor"
    assert [(c.path, c.kind) for c in snap.children] == [
        ("/node-1/charge-points", "ChargePointSupervisor"),
        ("/node-1/v2g", "V2GSupervisor"),
        ("/node-1/firmware", "FirmwareSupervisor"),
        ("/node-1/sites", "SitesSupervisor"),
        ("/node-1/reports", "ReportsSupervisor"),
    ]
    assert isinstance(system.context("/node-1").actor, NodeSupervisor)
    assert isinstance(system.context("/node-1/charge-points").actor, ChargePointSupervisor)
    assert isinstance(system.context("/node-1/v2g").actor, V2GSupervisor)
    assert isinstance(system.context("/node-1/firmware").actor, FirmwareSupervisor)
    await shutdown(system, clock)
    assert system.registry == {}


async def test_gateway_flow_start_ask_crash_restart() -> None:
    clock = FakeClock()
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    storage: dict[str, int] = {}
    cp = await tree.charge_points.start_child(station_spec("CP-001", storage))
    other = await tree.charge_points.start_child(station_spec("CP-002", storage))
    assert cp.path == "/node-1/charge-points/CP-001"
    assert system.lookup("/node-1/charge-points/CP-001") is cp
    assert tree.charge_points.child("CP-001") is cp
    assert await cp.ask(Heartbeat()) == clock.now().isoformat()
    await cp.ask(Heartbeat())
    await other.ask(Heartbeat())
    with pytest.raises(RuntimeError, match="station bug"):
        await cp.ask(Explode())
    await settle(system)
    # the gateway's ref still works and the state came back from storage
    assert cp.alive
    await cp.ask(Heartbeat())
    assert storage == {"CP-001": 3, "CP-002": 1}
    node = system.snapshot()
    cps = node.children[0]
    assert [(c.path, c.kind, c.state, c.restarts) for c in cps.children] == [
        ("/node-1/charge-points/CP-001", "ChargePoint", "beats=3", 1),
        ("/node-1/charge-points/CP-002", "ChargePoint", "beats=1", 0),
    ]
    await tree.charge_points.terminate_child("CP-002")  # the station disconnected
    assert not other.alive
    await shutdown(system, clock)


async def test_build_node_tree_spec() -> None:
    spec = build_node_tree("node-7", child_max_restarts=5)
    assert spec.key == "node-7"
    assert spec.kind == "NodeSupervisor"
    assert spec.shutdown_timeout_s is None
    node = spec.factory()
    assert isinstance(node, NodeSupervisor)
    clock = FakeClock()
    system = ActorSystem(clock=clock, name="ignored")
    tree = await NodeTree.start(system, "node-7")
    cps = tree.charge_points.ref
    assert cps.path == "/node-7/charge-points"
    assert isinstance(system.context(cps.path).actor, ChargePointSupervisor)
    await shutdown(system, clock)


class Recorder(Actor[Heartbeat]):
    """Records the exit reason each incarnation's on_stop saw."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    async def receive(self, msg: Heartbeat) -> Any:
        return None

    async def on_stop(self, reason: ExitReason) -> None:
        self.seen.append(reason.kind.value)


async def test_on_stop_tells_a_restart_from_a_stop_for_good() -> None:
    clock = FakeClock()
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    seen: list[str] = []
    spec = ChildSpec("CP-1", lambda: Recorder(seen), restart=Restart.TRANSIENT)
    await tree.charge_points.start_child(spec)
    await system.restart("/node-1/charge-points/CP-1")
    await system.stop("/node-1/charge-points/CP-1")
    await tree.charge_points.start_child(spec)
    await system.restart("/node-1/charge-points")  # the dynamic supervisor loses its children
    await tree.charge_points.start_child(spec)
    await system.restart("/node-1")  # so does a restarted node supervisor
    assert seen == ["restart", "shutdown", "shutdown", "shutdown"]
    await shutdown(system, clock)


async def test_handles_follow_a_restarted_node_supervisor() -> None:
    clock = FakeClock()
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    storage: dict[str, int] = {}
    await system.restart("/node-1")
    await settle(system)
    for handle in (tree.charge_points, tree.v2g, tree.firmware):
        assert handle.running
    cp = await tree.charge_points.start_child(station_spec("CP-001", storage))
    assert tree.charge_points.child("CP-001") is cp
    assert await cp.ask(Heartbeat()) is not None

    await system.stop("/node-1/charge-points")
    assert not tree.charge_points.running and tree.charge_points.child("CP-001") is None
    assert tree.charge_points.children() == []
    with pytest.raises(ActorNotFound):
        await tree.charge_points.start_child(station_spec("CP-002", storage))
    await shutdown(system, clock)
