"""A real `sigec serve --workers 2`: every listening socket of every cluster process is on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator

import pytest

from sigec_actors.cluster.tree import find

from .conftest import Serve, cluster_pids, listeners, start_serve
from .test_serve_cluster import tree_of

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]

ANY_ADDRESS = {"0.0.0.0", "::", ""}


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, nats_url: str) -> Iterator[Serve]:
    """One cluster for the module (cluster.bind is the default, 127.0.0.1)."""
    env = {"DATABASE_URL": pg_dsn, "NATS_URL": nats_url}
    started = start_serve(tmp_path_factory.mktemp("bind"), env, ["--workers", "2"])
    try:
        started.wait_ready()
        yield started
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            started.terminate()
        started.kill_leftovers()


def refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True


def test_every_listener_of_every_cluster_process_binds_cluster_bind_only(serve: Serve) -> None:
    pids = cluster_pids(serve)
    node_pids = {node["pid"] for node in serve.runtime["nodes"]}
    assert node_pids <= pids
    assert len(pids) >= 5  # serve, thespian admin (+ logger), director, two nodes
    found = listeners(pids)
    every = [(pid, ip, port) for pid, socks in found.items() for ip, port in socks]
    assert not [s for s in every if s[1] in ANY_ADDRESS], every
    assert {ip for _, ip, _ in every} == {"127.0.0.1"}, every
    assert serve.admin_port in {port for _, _, port in every}
    shared = {serve.http_port, int(serve.runtime["ocppUrl"].rsplit(":", 1)[1].split("/")[0])}
    for pid in node_pids:  # each node: REST + OCPP (server.bind) and its own thespian port
        assert shared <= {port for _, port in found[pid]}
        assert {port for _, port in found[pid]} - shared, (pid, found[pid])
    assert len(find(tree_of(serve), "NodeHost")) == 2  # thespian still talks over 127.0.0.1


def test_thespian_ports_refuse_another_loopback_address(serve: Serve) -> None:
    assert refused("127.0.0.2", serve.admin_port)
    ports = {port for socks in listeners(cluster_pids(serve)).values() for _, port in socks}
    assert len(ports) >= 5
    assert [port for port in sorted(ports) if not refused("127.0.0.2", port)] == []
