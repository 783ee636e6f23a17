"""`sigec serve --join`: a second ActorSystem (another admin port on loopback) hosts placed nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigec_actors.cluster.tree import find

from .conftest import Serve, cluster_pids, free_port, listeners, processes_of, start_serve
from .test_serve_cluster import assert_no_process_left, get, tree_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


def test_member_joins_gets_a_node_by_capability_and_leaves_cleanly(
        tmp_path: Path, cluster_env: dict[str, str], serves: list[Serve]) -> None:
    ocpp_port = str(free_port())
    env = {**cluster_env, "SIGEC_OCPP_PORT": ocpp_port}
    leader = start_serve(tmp_path, env, ["--workers", "1"], name="leader")
    serves.append(leader)
    leader.wait_ready()

    member = start_serve(tmp_path, {**env, "SIGEC_WORKERS": "1"},
                         ["--join", f"127.0.0.1:{leader.admin_port}"],
                         http_port=leader.http_port, name="member")
    serves.append(member)
    member.wait_output("SIGEC-VE member: joined")

    def two_hosts() -> bool:
        nodes = find(tree_of(leader), "NodeHost")
        return len(nodes) == 2 and all(n.state == "running" for n in nodes)

    wait_for(two_hosts, 20.0, "a node placed on the member")
    nodes = {n.path.rsplit("/", 1)[-1]: n for n in find(tree_of(leader), "NodeHost")}
    assert nodes["node-1"].host != nodes["node-2"].host
    assert nodes["node-2"].host is not None
    assert f":{member.admin_port}" in nodes["node-2"].host
    member_pids = {p.pid for p in processes_of(member.data_dir)}
    assert nodes["node-2"].pid in member_pids  # forked by the member's admin, not the leader's
    assert all(get(f"{leader.http}/health/ready") == 200 for _ in range(10))
    member_listeners = listeners(cluster_pids(member))  # the member's thespian: cluster.bind only
    assert member.admin_port in {port for socks in member_listeners.values() for _, port in socks}
    assert {ip for socks in member_listeners.values() for ip, _ in socks} == {"127.0.0.1"}

    assert member.terminate() == 0
    assert_no_process_left(member)

    def back_to_one() -> bool:
        nodes = find(tree_of(leader), "NodeHost")
        return [n.path for n in nodes] == ["/director/node-1"]

    wait_for(back_to_one, 10.0, "the member's node forgotten, not restarted")
    assert "director_escalates" not in leader.log()
    assert leader.terminate() == 0
    assert_no_process_left(leader)
