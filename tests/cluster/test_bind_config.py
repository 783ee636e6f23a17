"""cluster.bind off loopback needs cluster.allow_network; thespian addresses bind what they export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from thespian.system.transport.TCPTransport import TCPv4ActorAddress

from sigec_actors.cluster import bind
from sigec_actors.config import check_cluster_address, is_loopback, load_settings
from sigec_actors.errors import ConfigError

from .conftest import free_port, processes_of


def sigec(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI; were the check missing, whatever it started is killed (by pid) afterwards."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SIGEC_")}
    ports = {name: str(free_port()) for name in
             ("SIGEC_HTTP_PORT", "SIGEC_OCPP_PORT", "SIGEC_CLUSTER__ADMIN_PORT")}
    data_dir = tmp_path / "data"
    try:
        return subprocess.run(
            [sys.executable, "-m", "sigec_actors.cli", "--data-dir", str(data_dir), *args],
            env={**full_env, **ports, **env}, capture_output=True, text=True, timeout=30,
            check=False)
    finally:
        for proc in processes_of(data_dir):
            proc.kill()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.2", "fd00::2",
                                  "203.0.113.7", "db.example", "localhost.example"])
def test_anything_else_may_reach_the_network(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "fd00::2", "cluster-host"])
def test_a_network_bind_without_allow_network_is_a_config_error_naming_the_key(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"SIGEC_CLUSTER__BIND": host})
    assert caught.value.key == "SIGEC_CLUSTER__BIND (cluster.bind)"
    assert "cluster.allow_network = true" in caught.value.problem


def test_allow_network_permits_a_network_bind_and_loopback_needs_nothing() -> None:
    settings = load_settings(env={"SIGEC_CLUSTER__BIND": "10.0.0.5",
                                  "SIGEC_CLUSTER__ALLOW_NETWORK": "true"})
    assert (settings.cluster.bind, settings.cluster.allow_network) == ("10.0.0.5", True)
    default = load_settings(env={})
    assert (default.cluster.bind, default.cluster.allow_network) == ("127.0.0.1", False)
    assert load_settings(env={"SIGEC_CLUSTER__BIND": "127.0.0.3"}).cluster.bind == "127.0.0.3"


def test_serve_with_a_network_cluster_bind_stops_with_one_config_error_line(
        tmp_path: Path) -> None:
    done = sigec(tmp_path, {"SIGEC_CLUSTER__BIND": "0.0.0.0"}, "serve", "--workers", "2")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "sigec: config error: SIGEC_CLUSTER__BIND (cluster.bind): 0.0.0.0 is not a loopback "
        "address and thespian's ports take unauthenticated pickled messages; on a private "
        "network only, set cluster.allow_network = true (SIGEC_CLUSTER__ALLOW_NETWORK)"]
    assert not (tmp_path / "data").exists()  # stopped before anything started


@pytest.mark.parametrize("leader", ["10.0.0.5", "192.168.1.2", "fd00::2"])
def test_joining_a_network_director_needs_allow_network(leader: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_cluster_address("--join", leader, allow_network=False)
    assert str(caught.value).startswith(f"config error: --join: {leader} is not a loopback")
    check_cluster_address("--join", leader, allow_network=True)
    check_cluster_address("--join", "127.0.0.1", allow_network=False)


def test_join_of_a_network_director_without_allow_network_stops_with_a_config_error(
        tmp_path: Path) -> None:
    # 0.0.0.0 rather than a private address: were the check missing, traffic stays on this host.
    done = sigec(tmp_path, {}, "serve", "--join", f"0.0.0.0:{free_port()}")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("sigec: config error: --join: 0.0.0.0 is not a loopback address")
    assert line.endswith("set cluster.allow_network = true (SIGEC_CLUSTER__ALLOW_NETWORK)")
    assert not (tmp_path / "data").exists()


def test_thespian_addresses_bind_the_address_they_export(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bind.BASE_ADDRESS_ENV, "127.0.0.1")
    assert bind.applied()  # importing sigec_actors.cluster applied it
    for external in (True, ("", 1900), ("10.0.0.5", 1900)):
        address = TCPv4ActorAddress(None, 0, external=external)
        assert address.bindname == address.sockname == ("127.0.0.1", 0)
    unpatched = TCPv4ActorAddress.__new__(TCPv4ActorAddress)
    bind._thespian_init(unpatched, 2, 1, 6, None, 0, external=True)  # AF_INET, STREAM, TCP
    assert unpatched.bindname == ("", 0)  # what thespian does: every interface
