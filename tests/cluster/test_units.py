"""Pure pieces of the cluster: bridge, restart intensity, tree fan-out, settings helpers."""

from __future__ import annotations

import select
import threading

import msgspec
import pytest

from sigec_actors.cluster.bridge import Bridge
from sigec_actors.cluster.client import ClusterError, reply_key
from sigec_actors.cluster.fanout import Slot, StopBarrier, TreeFanout, find_slot
from sigec_actors.cluster.hosted import local_settings
from sigec_actors.cluster.launcher import capabilities, parse_leader, with_fixed_ports
from sigec_actors.cluster.messages import (
    CAP_HOST,
    CAP_NODE,
    ClusterStarted,
    GetTree,
    NodeInfo,
    StopCluster,
    Tree,
)
from sigec_actors.cluster.nodehost import NodeHost
from sigec_actors.cluster.policy import RestartIntensity
from sigec_actors.cluster.tree import ClusterTree, decode, encode, find
from sigec_actors.config import load_settings
from sigec_actors.runtime.snapshot import ActorSnapshot


def test_bridge_delivers_every_post_from_many_threads_in_order() -> None:
    bridge = Bridge()
    got: list[tuple[str, int]] = []
    fileno = bridge.watch().filenos[0]

    def producer(name: str) -> None:
        for i in range(500):
            bridge.post(name, i)

    threads = [threading.Thread(target=producer, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    while len(got) < 2000:
        ready, _, _ = select.select([fileno], [], [], 2.0)
        assert ready, "a post did not wake the reader"
        got.extend(bridge.drain())
    for thread in threads:
        thread.join()
    for name in ("t0", "t1", "t2", "t3"):
        assert [i for target, i in got if target == name] == list(range(500))
    bridge.close()
    assert bridge.watch().filenos == []
    bridge.post("late", 1)  # after close: dropped silently, never raises


def test_restart_intensity_allows_max_restarts_per_window() -> None:
    policy = RestartIntensity(max_restarts=2, within_s=10.0)
    assert policy.allow(0.0)
    assert policy.allow(1.0)
    assert not policy.allow(2.0)
    assert policy.allow(10.5)  # the first restart left the window
    assert policy.recent == 2


def snapshot(path: str) -> bytes:
    return msgspec.json.encode(ActorSnapshot(path=path, kind="NodeSupervisor", state="ok",
                                             mailbox_depth=0, processed=3, restarts=0,
                                             uptime_s=1.0, last_error=None, children=[]))


def test_tree_fanout_marks_silent_nodes_unresponsive() -> None:
    info = NodeInfo(name="node-1", host="h", pid=11, http_url="", ocpp_url="")
    slots = [Slot("node-1", "h", address="a1", info=info),
             Slot("node-2", "h", address="a2", info=msgspec.structs.replace(info, pid=12,
                                                                            name="node-2")),
             Slot("node-3", "h", address="a3")]
    fanout = TreeFanout("requester", 7, {"node-1", "node-2"})
    assert not fanout.add("node-1", snapshot("/node-1"))
    root = ClusterTree(path="/director", kind="CsmsDirector", state="running", pid=1)
    tree = decode(encode(fanout.build(root, slots, now=slots[0].started_at + 1.0)))
    states = {n.path: n.state for n in find(tree, "NodeHost")}
    assert states == {"/director/node-1": "running", "/director/node-2": "unresponsive",
                      "/director/node-3": "starting"}
    assert [c.path for c in find(tree, "NodeSupervisor")] == ["/node-1"]
    assert fanout.add("node-2", b"null")
    assert find_slot(slots, "a2") is slots[1]
    assert find_slot(slots, "zz") is None


def test_stop_barrier_completes_when_every_node_reported() -> None:
    barrier = StopBarrier("launcher", 3, {"node-1", "node-2"}, [11, 12])
    assert not barrier.done("node-1")
    assert not barrier.done("node-1")
    assert barrier.done("node-2")


def test_reply_keys_pair_requests_with_answers() -> None:
    assert reply_key(GetTree(4)) == reply_key(Tree(4, b"{}"))
    assert reply_key(StopCluster(5)) != reply_key(GetTree(5))
    assert reply_key(ClusterStarted(1, 2, [])) == ("start",)
    assert reply_key("noise") is None


def test_nodehost_is_placed_only_on_the_requested_node_member() -> None:
    check = NodeHost.actorSystemCapabilityCheck
    assert check({CAP_NODE: True, CAP_HOST: "a"}, {CAP_HOST: "a"})
    assert not check({CAP_NODE: True, CAP_HOST: "a"}, {CAP_HOST: "b"})
    assert not check({CAP_NODE: False, CAP_HOST: "a"}, {CAP_HOST: "a"})
    assert check({CAP_NODE: True, CAP_HOST: "a"}, {})


def test_settings_helpers() -> None:
    settings = load_settings(env={}, overrides={"server.http_port": 0, "server.ocpp_port": 0})
    fixed = with_fixed_ports(settings)
    assert fixed.server.http_port > 0
    assert fixed.server.ocpp_port > 0
    here = local_settings(fixed, {"NATS_URL": "nats://10.0.0.2:4222", "SIGEC_BIND": "0.0.0.0"})
    assert here.nats.url == "nats://10.0.0.2:4222"
    assert here.server.bind == "0.0.0.0"
    assert here.server.http_port == fixed.server.http_port
    assert local_settings(fixed, {}) == fixed
    caps = capabilities(1900, "h", 0, convention=("10.0.0.1", 1900))
    assert caps[CAP_NODE] is False
    assert caps["Convention Address.IPv4"] == ("10.0.0.1", 1900)
    assert parse_leader("10.0.0.1:1900") == ("10.0.0.1", 1900)
    with pytest.raises(ClusterError):
        parse_leader("10.0.0.1")
