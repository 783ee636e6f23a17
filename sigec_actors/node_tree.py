"""The node's supervision tree: NodeSupervisor over the outbox, charge-point, V2G, firmware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sigec_actors.runtime import (
    Actor,
    ActorRef,
    ActorSystem,
    ChildSpec,
    DynamicSupervisor,
    Strategy,
    Supervisor,
    SupervisorAt,
    SupervisorRef,
)

CHARGE_POINTS = "charge-points"
V2G = "v2g"
FIRMWARE = "firmware"
SITES = "sites"
REPORTS = "reports"
OUTBOX = "outbox"
RELAY = "relay"


class ChargePointSupervisor(DynamicSupervisor):
    """Dynamic: one ChargePoint actor per connected station, keyed by station id."""

    __slots__ = ()


class V2GSupervisor(DynamicSupervisor):
    """Dynamic: one V2GSession actor per discharge session."""

    __slots__ = ()


class FirmwareSupervisor(DynamicSupervisor):
    """Dynamic: one FirmwareJob actor per firmware update."""

    __slots__ = ()


class SitesSupervisor(DynamicSupervisor):
    """Dynamic: one Site actor per location with a power limit (smart charging)."""

    __slots__ = ()


class ReportsSupervisor(DynamicSupervisor):
    """Dynamic: one ReportJob actor per operator report being computed."""

    __slots__ = ()


class OutboxSupervisor(Supervisor):
    """Keeps the outbox relay (`relay`) running: restarts it whenever it crashes or stops."""

    __slots__ = ()


class NodeSupervisor(Supervisor):
    """One-for-one over the node's dynamic supervisors (and any service actors added later)."""

    __slots__ = ()


def build_node_tree(
    node_name: str,
    *,
    child_max_restarts: int = 100,
    child_within_s: float = 10.0,
    node_max_restarts: int = 3,
    node_within_s: float = 30.0,
    outbox_relay: Callable[[], Actor[Any]] | None = None,
) -> ChildSpec:
    """The root spec of a node: paths are `/<node_name>/charge-points/<station id>` etc.

    The dynamic supervisors get a high restart intensity (`child_max_restarts` within
    `child_within_s`) because their children are independent stations and sessions: a bug that
    crashes a few of them must not take every station's actor down with it. `outbox_relay`
    builds the relay actor, run at `/<node_name>/outbox/relay` with the same intensity; the
    outbox starts first and stops last (after the charge points wrote their last events).
    """

    def dynamic(key: str, cls: type[DynamicSupervisor]) -> ChildSpec:
        return ChildSpec(
            key=key,
            factory=lambda: cls(max_restarts=child_max_restarts, within_s=child_within_s),
            kind=cls.__name__,
            shutdown_timeout_s=None,  # a supervisor waits for its children's own timeouts
        )

    children = [] if outbox_relay is None else [ChildSpec(
        key=OUTBOX, kind=OutboxSupervisor.__name__, shutdown_timeout_s=None,
        factory=lambda: OutboxSupervisor(
            [ChildSpec(key=RELAY, factory=outbox_relay, kind="OutboxRelay")],
            max_restarts=child_max_restarts, within_s=child_within_s))]
    children += [
        dynamic(CHARGE_POINTS, ChargePointSupervisor),
        dynamic(V2G, V2GSupervisor),
        dynamic(FIRMWARE, FirmwareSupervisor),
        dynamic(SITES, SitesSupervisor),
        dynamic(REPORTS, ReportsSupervisor),
    ]
    return ChildSpec(
        key=node_name,
        factory=lambda: NodeSupervisor(
            children,
            strategy=Strategy.ONE_FOR_ONE,
            max_restarts=node_max_restarts,
            within_s=node_within_s,
        ),
        kind=NodeSupervisor.__name__,
        shutdown_timeout_s=None,
    )


class NodeTree:
    """Handles on a running node tree, for the gateway, the REST API and the console.

    The dynamic supervisors are found by path at each use (SupervisorAt): a restarted node
    supervisor starts fresh ones, which the handles follow; while one is stopped, requests
    through its handle raise ActorNotFound. Children of a restarted dynamic supervisor are
    gone and must be started again by their owners.
    """

    __slots__ = ("charge_points", "firmware", "reports", "root", "sites", "system", "v2g")

    def __init__(self, system: ActorSystem, root: ActorRef[Any]) -> None:
        self.system = system
        self.root = root
        self.charge_points = SupervisorAt(system, f"{root.path}/{CHARGE_POINTS}")
        self.v2g = SupervisorAt(system, f"{root.path}/{V2G}")
        self.firmware = SupervisorAt(system, f"{root.path}/{FIRMWARE}")
        self.sites = SupervisorAt(system, f"{root.path}/{SITES}")
        self.reports = SupervisorAt(system, f"{root.path}/{REPORTS}")

    def outbox_running(self) -> bool:
        """True while the outbox relay actor runs (False: not started here, or given up)."""
        ctx = self.system.registry.get(f"{self.root.path}/{OUTBOX}/{RELAY}")
        return ctx is not None and ctx.running

    @classmethod
    async def start(cls, system: ActorSystem, node_name: str | None = None, *,
                    outbox_relay: Callable[[], Actor[Any]] | None = None) -> NodeTree:
        """Start the node tree as the system's root (named after the system by default)."""
        root = await system.start(build_node_tree(node_name or system.name,
                                                  outbox_relay=outbox_relay))
        await SupervisorRef(root).which_children()  # returns after on_start: children exist
        return cls(system, root)
