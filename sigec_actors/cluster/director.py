"""CsmsDirector: the thespian root that starts, restarts and places the NodeHosts."""

from __future__ import annotations

import itertools
import os
import signal
import time
from datetime import timedelta
from typing import Any

import structlog
from thespian.actors import (
    Actor,
    ActorExitRequest,
    ActorSystemConventionUpdate,
    ChildActorExited,
    PoisonMessage,
    WakeupMessage,
)

from sigec_actors.cluster import tree as trees
from sigec_actors.cluster.fanout import Slot, StopBarrier, TreeFanout, find_slot
from sigec_actors.cluster.messages import (
    CAP_HOST,
    CAP_NODE,
    CAP_WORKERS,
    ClusterStarted,
    ClusterStartFailed,
    ClusterStopped,
    Escalated,
    GetTree,
    NodeFailed,
    NodeGetTree,
    NodesChanged,
    NodeSnapshot,
    NodeSpec,
    NodeStarted,
    NodeStopped,
    SnapshotNode,
    StartCluster,
    StartNode,
    StopCluster,
    StopNode,
    Tree,
    WatchLauncher,
)
from sigec_actors.cluster.nodehost import NodeHost
from sigec_actors.cluster.policy import RestartIntensity
from sigec_actors.cluster.tree import ClusterTree
from sigec_actors.config import Settings

NODE_START_TIMEOUT = timedelta(seconds=10)
"""A node not ready by then is restarted (normal starts take 1-2 s)."""
LIFELINE_INTERVAL = timedelta(seconds=1)
"""How often the director checks that `sigec serve` is still alive."""

log = structlog.get_logger("cluster.director")


class CsmsDirector(Actor):  # type: ignore[misc]  # thespian is untyped
    """Supervises NodeHosts one-for-one with a restart intensity; answers control messages.

    A NodeHost that exits without being asked to (crash, SIGKILL) is started again under the
    same name; more than `max_restarts` restarts within `within_s` escalate: every node is
    stopped and the launcher gets `Escalated`, so `sigec serve` exits non-zero.
    """

    def __init__(self) -> None:
        super().__init__()
        self._launcher: Any = None
        self._settings: Settings | None = None
        self._host = ""
        self._hosts: set[str] = set()
        self._slots: list[Slot] = []
        self._names = itertools.count(1)
        self._refs = itertools.count(1)
        self._intensity = RestartIntensity()
        self._awaiting_start = False
        self._trees: dict[int, TreeFanout] = {}
        self._stop: StopBarrier | None = None
        self._stopping = False
        self._escalated = False
        self._started_at = time.monotonic()
        self._launcher_pid = 0
        self._lifeline = False

    def receiveMessage(self, message: Any, sender: Any) -> None:
        match message:
            case StartCluster():
                self._start_cluster(message, sender)
            case NodeStarted():
                self._node_started(message)
            case NodeFailed():
                self._node_failed(message)
            case ChildActorExited():
                self._child_exited(message.childAddress)
            case ActorSystemConventionUpdate():
                self._member_changed(message)
            case ActorExitRequest():
                self._stopping = True  # thespian stops the children next: not crashes
            case _:
                self._control(message, sender)

    def _control(self, message: Any, sender: Any) -> None:
        match message:
            case GetTree() | NodeGetTree():
                self._tree_request(sender, message.ref, message.timeout_s)
            case NodeSnapshot():
                fanout = self._trees.get(message.ref)
                if fanout is not None and fanout.add(message.name, message.json):
                    self._finish_tree(message.ref)
            case StopCluster():
                self._stop_cluster(sender, message)
            case WatchLauncher():
                self._watch_launcher(message.launcher_pid)
            case NodeStopped():
                self._node_stopped(message.name)
            case WakeupMessage():
                self._wakeup(message.payload)
            case PoisonMessage():
                log.warning("director_message_undeliverable", message=str(message.poisonMessage))

    # start and restart -------------------------------------------------------------------

    def _start_cluster(self, message: StartCluster, sender: Any) -> None:
        self._launcher = sender
        self._settings = message.settings
        self._host = message.host
        self._hosts.add(message.host)
        self._intensity = RestartIntensity(message.max_restarts, message.within_s)
        self._awaiting_start = True
        for _ in range(message.workers):
            self._add_slot(message.host)
        self.wakeupAfter(timedelta(seconds=message.start_timeout_s), payload=("start",))
        self._watch_launcher(message.launcher_pid)
        self.notifyOnSystemRegistrationChanges(True)
        log.info("director_started", workers=message.workers, host=message.host,
                 max_restarts=message.max_restarts, within_s=message.within_s)

    def _add_slot(self, host: str) -> None:
        slot = Slot(name=f"node-{next(self._names)}", host=host)
        self._slots.append(slot)
        self._spawn(slot)

    def _spawn(self, slot: Slot) -> None:
        assert self._settings is not None
        slot.info = None
        slot.started_at = time.monotonic()
        slot.address = self.createActor(NodeHost, targetActorRequirements={CAP_HOST: slot.host})
        self.send(slot.address, StartNode(NodeSpec(slot.name, slot.host, self._settings)))
        self.wakeupAfter(NODE_START_TIMEOUT, payload=("node-start", slot.name, slot.started_at))

    def _node_started(self, message: NodeStarted) -> None:
        slot = self._slot_named(message.info.name)
        if slot is None:
            return
        slot.info = message.info
        log.info("node_started", node=slot.name, pid=message.info.pid, host=slot.host,
                 restarts=slot.restarts)
        local = [s for s in self._slots if s.host == self._host]
        nodes = [s.info for s in local if s.info is not None]
        if self._awaiting_start and len(nodes) == len(local):
            self._awaiting_start = False
            self.send(self._launcher, ClusterStarted(
                director_pid=os.getpid(), admin_pid=os.getppid(), nodes=nodes))
        elif not self._awaiting_start and slot.host == self._host and self._launcher is not None:
            self.send(self._launcher, NodesChanged(nodes))  # a restart: runtime.json's pids

    def _node_failed(self, message: NodeFailed) -> None:
        slot = self._slot_named(message.name)
        if slot is not None:
            slot.last_error = message.reason
        log.error("node_failed", node=message.name, reason=message.reason)
        if self._awaiting_start:
            self._awaiting_start = False
            self._escalated = True  # a node that cannot start will not start on retry either
            self.send(self._launcher, ClusterStartFailed(f"{message.name}: {message.reason}"))

    def _child_exited(self, address: Any) -> None:
        slot = find_slot(self._slots, address)
        if slot is None:
            return
        slot.address, info = None, slot.info
        if slot.stopping or self._stopping or self._escalated:
            self._node_stopped(slot.name)
            return
        if slot.host not in self._hosts:
            self._slots.remove(slot)  # its member left the convention
            return
        log.warning("node_exited", node=slot.name, pid=info.pid if info else None,
                    restarts=slot.restarts)
        if not self._intensity.allow(time.monotonic()):
            self._escalate(f"{slot.name} exited: more than {self._intensity.max_restarts} "
                           f"node restarts within {self._intensity.within_s:g} s")
            return
        slot.restarts += 1
        self._spawn(slot)

    def _escalate(self, reason: str) -> None:
        self._escalated = True
        log.error("director_escalates", reason=reason)
        for slot in self._slots:
            if slot.address is not None:
                slot.stopping = True
                self.send(slot.address, ActorExitRequest())
        if self._launcher is not None:
            self.send(self._launcher, Escalated(reason))

    def _member_changed(self, update: ActorSystemConventionUpdate) -> None:
        caps = update.remoteCapabilities or {}
        host = caps.get(CAP_HOST)
        if not isinstance(host, str) or host == self._host:
            return
        if update.remoteAdded and caps.get(CAP_NODE) is True and host not in self._hosts:
            self._hosts.add(host)
            workers = int(caps.get(CAP_WORKERS) or 1)
            log.info("member_joined", host=host, workers=workers)
            for _ in range(workers):
                self._add_slot(host)
        elif not update.remoteAdded and host in self._hosts:
            self._hosts.discard(host)
            log.warning("member_left", host=host)
            self._slots = [s for s in self._slots if s.host != host or s.address is not None]

    def _slot_named(self, name: str) -> Slot | None:
        return next((s for s in self._slots if s.name == name), None)

    # control: tree and stop -----------------------------------------------------------------

    def _tree_request(self, requester: Any, ref: int, timeout_s: float) -> None:
        live = [s for s in self._slots if s.address is not None and s.info is not None]
        own_ref = next(self._refs)
        self._trees[own_ref] = TreeFanout(requester, ref, {s.name for s in live})
        for slot in live:
            self.send(slot.address, SnapshotNode(own_ref))
        if live:
            self.wakeupAfter(timedelta(seconds=timeout_s), payload=("tree", own_ref))
        else:
            self._finish_tree(own_ref)

    def _finish_tree(self, ref: int) -> None:
        fanout = self._trees.pop(ref, None)
        if fanout is None:
            return
        now = time.monotonic()
        state = "escalated" if self._escalated else "stopping" if self._stopping else "running"
        root = ClusterTree(path="/director", kind="CsmsDirector", state=state,
                           restarts=sum(s.restarts for s in self._slots),
                           uptime_s=round(now - self._started_at, 3), pid=os.getpid(),
                           host=self._host)
        tree = fanout.build(root, self._slots, now)
        self.send(fanout.requester, Tree(fanout.requester_ref, trees.encode(tree)))

    def _stop_cluster(self, sender: Any, message: StopCluster) -> None:
        self._stopping = True
        live = [s for s in self._slots if s.address is not None]
        pids = [s.info.pid for s in self._slots if s.info is not None]
        self._stop = StopBarrier(sender, message.ref, {s.name for s in live}, pids)
        for slot in live:
            slot.stopping = True
            self.send(slot.address, StopNode())
        log.info("cluster_stopping", nodes=len(live))
        if live:
            self.wakeupAfter(timedelta(seconds=message.timeout_s), payload=("stop", message.ref))
        else:
            self._finish_stop()

    def _node_stopped(self, name: str) -> None:
        log.debug("node_stop_reported", node=name, waiting=self._stop is not None)
        if self._stop is not None and self._stop.done(name):
            self._finish_stop()

    def _finish_stop(self) -> None:
        barrier, self._stop = self._stop, None
        if barrier is not None:
            if barrier.waiting:
                log.warning("nodes_did_not_stop", nodes=sorted(barrier.waiting))
            self.send(barrier.requester, ClusterStopped(barrier.ref, barrier.pids))

    def _check_node_started(self, name: str, started_at: float) -> None:
        """A node that has not reported ready in time is stuck: let it crash, so it restarts
        like any crashed node (within the restart intensity)."""
        slot = self._slot_named(name)
        if (slot is None or slot.info is not None or slot.started_at != started_at
                or slot.address is None or slot.stopping or self._stopping):
            return
        log.warning("node_start_timed_out", node=name,
                    timeout_s=NODE_START_TIMEOUT.total_seconds())
        self.send(slot.address, ActorExitRequest())

    def _watch_launcher(self, pid: int) -> None:
        if pid and not self._lifeline:
            self._launcher_pid, self._lifeline = pid, True
            self.wakeupAfter(LIFELINE_INTERVAL, payload=("lifeline",))

    def _check_lifeline(self) -> None:
        """`serve` was killed without stopping us: end this host's thespian process group.

        thespian daemonizes its admin (setsid), so nothing else would ever stop the admin, the
        director and the nodes; the group holds exactly those processes.
        """
        if self._stopping:
            return
        try:
            os.kill(self._launcher_pid, 0)
        except ProcessLookupError:
            log.error("launcher_gone", launcher_pid=self._launcher_pid,
                      action="terminating the thespian process group")
            os.killpg(os.getpgrp(), signal.SIGTERM)
            return
        except PermissionError:
            pass  # alive, owned by someone else
        self.wakeupAfter(LIFELINE_INTERVAL, payload=("lifeline",))

    def _wakeup(self, payload: Any) -> None:
        match payload:
            case ("start",) if self._awaiting_start:
                self._awaiting_start = False
                self._escalated = True
                pending = [s.name for s in self._slots if s.info is None]
                self.send(self._launcher, ClusterStartFailed(f"not started in time: {pending}"))
            case ("lifeline",):
                self._check_lifeline()
            case ("node-start", str(name), float(started_at)):
                self._check_node_started(name, started_at)
            case ("tree", int(ref)):
                self._finish_tree(ref)
            case ("stop", int(ref)) if self._stop is not None and self._stop.ref == ref:
                self._finish_stop()
            case _:
                pass
