"""runtime.census counts a live tree like a snapshot does, without building one."""

from __future__ import annotations

from sigec_actors.admin_surface.nodes import live_summary, summarize
from sigec_actors.node_tree import CHARGE_POINTS
from sigec_actors.runtime import (
    Actor,
    ActorSystem,
    ChildSpec,
    DynamicSupervisor,
    Supervisor,
    SupervisorRef,
)


class Idle(Actor[int]):
    __slots__ = ()

    async def receive(self, msg: int) -> int:
        return msg


async def test_census_matches_the_snapshot() -> None:
    system = ActorSystem(name="node-t")
    cps = ChildSpec(CHARGE_POINTS, lambda: DynamicSupervisor(max_restarts=10, within_s=1.0),
                    shutdown_timeout_s=None)
    root = await system.start(ChildSpec("node-t", lambda: Supervisor([cps]),
                                        shutdown_timeout_s=None))
    await SupervisorRef(root).which_children()
    pool = SupervisorRef(system.lookup(f"/node-t/{CHARGE_POINTS}"))
    for i in range(7):
        await pool.start_child(ChildSpec(f"CP-{i}", Idle))
    try:
        live = live_summary(system)
        assert live == summarize(system.snapshot())
        assert live.stations == 7
    finally:
        await system.shutdown()
