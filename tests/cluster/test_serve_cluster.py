"""`sigec serve --workers 2` as real processes: SO_REUSEPORT, tree, restarts, escalation, shutdown."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from sigec_actors.cluster.client import fetch_tree
from sigec_actors.cluster.tree import ClusterTree, find
from tests.helpers.server import alive

from .conftest import Serve, processes_of, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # a new connection each time
        return int(response.status)


def tree_of(serve: Serve) -> ClusterTree:
    return asyncio.run(fetch_tree(serve.admin_port))


def node_pids(tree: ClusterTree) -> dict[str, int | None]:
    return {entry.path.rsplit("/", 1)[-1]: entry.pid for entry in find(tree, "NodeHost")}


def listening_pids(port: int, candidates: list[int]) -> set[int]:
    found = set()
    for pid in candidates:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                found.add(pid)
    return found


def wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout_s} s")


def assert_no_process_left(serve: Serve) -> None:
    wait_for(lambda: not processes_of(serve.data_dir), 3.0, "every cluster process gone")


def test_two_workers_share_ports_build_one_tree_and_restart_a_killed_node(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve]) -> None:
    serve = start_serve(tmp_path, cluster_env, ["--workers", "2"])
    serves.append(serve)
    runtime = serve.wait_ready()
    assert runtime["workers"] == 2
    assert runtime["adminPort"] == serve.admin_port
    pids = [node["pid"] for node in runtime["nodes"]]
    assert len(set(pids)) == 2

    # Both node processes listen on the one REST port (SO_REUSEPORT); every request answers.
    assert listening_pids(serve.http_port, pids) == set(pids)
    assert all(get(f"{serve.http}/health/ready") == 200 for _ in range(20))

    tree = tree_of(serve)
    assert tree.kind == "CsmsDirector"
    assert tree.path == "/director"
    assert node_pids(tree) == {"node-1": pids[0], "node-2": pids[1]}
    for entry in find(tree, "NodeHost"):
        assert entry.state == "running"
        assert [child.kind for child in entry.children] == ["NodeSupervisor"]
    assert {s.path for s in find(tree, "ChargePointSupervisor")} == {
        "/node-1/charge-points", "/node-2/charge-points"}

    # SIGKILL one node: the director starts it again (new pid), the other never stopped.
    # (A node that stalled at start was already restarted once by the start timeout.)
    before = next(e for e in find(tree, "NodeHost") if e.path.endswith("node-1")).restarts
    killed_at = time.monotonic()
    psutil.Process(pids[0]).send_signal(signal.SIGKILL)

    def restarted() -> bool:
        now = node_pids(tree_of(serve))
        return now.get("node-1") not in (None, pids[0]) and now.get("node-2") == pids[1]

    wait_for(restarted, 10.0, "node-1 restarted")
    assert time.monotonic() - killed_at < 10.0
    entry = next(e for e in find(tree_of(serve), "NodeHost") if e.path.endswith("node-1"))
    assert entry.restarts == before + 1
    new_pid = entry.pid
    assert new_pid is not None
    wait_for(lambda: listening_pids(serve.http_port, [new_pid]) == {new_pid}, 5.0,
             "the new node listens")
    assert all(get(f"{serve.http}/health/ready") == 200 for _ in range(10))

    assert serve.terminate() == 0
    assert_no_process_left(serve)


def test_sigterm_stops_every_process_within_the_deadline(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve]) -> None:
    serve = start_serve(tmp_path, cluster_env, ["--workers", "2"])
    serves.append(serve)
    serve.wait_ready()
    parent = psutil.Process(serve.proc.pid)
    family = [p.pid for p in processes_of(serve.data_dir)]
    assert len(family) >= 5  # serve, thespian admin (+ logger), director, two nodes

    started = time.monotonic()
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.proc.wait(10) == 0
    assert time.monotonic() - started < 10.0
    assert not (serve.data_dir / "runtime.json").exists()
    with pytest.raises(psutil.NoSuchProcess):
        parent.children(recursive=True)
    assert_no_process_left(serve)
    assert not [pid for pid in family if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert "cluster_stop_unanswered" not in serve.log()


def test_sigkill_of_serve_takes_the_daemonized_cluster_down(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve]) -> None:
    serve = start_serve(tmp_path, cluster_env, ["--workers", "2"])
    serves.append(serve)
    serve.wait_ready()
    family = [p for p in processes_of(serve.data_dir) if p.pid != serve.proc.pid]
    assert len(family) >= 4  # thespian admin (+ logger), director, two nodes
    serve.proc.send_signal(signal.SIGKILL)
    serve.proc.wait(5)
    deadline = time.monotonic() + 10
    left = family
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [p for p in family if alive(p)]
    assert not left, [p.pid for p in left]


def test_repeated_crashes_escalate_and_serve_exits_non_zero(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve]) -> None:
    env = {**cluster_env, "SIGEC_CLUSTER__MAX_RESTARTS": "1", "SIGEC_CLUSTER__WITHIN_S": "60"}
    serve = start_serve(tmp_path, env, ["--workers", "1"])
    serves.append(serve)
    runtime = serve.wait_ready()
    first = runtime["nodes"][0]["pid"]
    psutil.Process(first).send_signal(signal.SIGKILL)  # restart 1 of 1: allowed

    def replaced() -> bool:
        pids = node_pids(tree_of(serve))
        return pids.get("node-1") not in (None, first)

    wait_for(replaced, 10.0, "node-1 restarted once")
    second = node_pids(tree_of(serve))["node-1"]
    assert second is not None
    psutil.Process(second).send_signal(signal.SIGKILL)  # one more: escalate
    assert serve.proc.wait(15) == 1
    assert "director_escalates" in serve.log()
    assert_no_process_left(serve)
