"""`sigec serve --workers N` outlives no reader and leaves nothing; runtime.json follows restarts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.helpers.server import free_port

from .conftest import listeners, processes_of

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


def _ours(data_dir: Path) -> list[psutil.Process]:
    """Processes whose command line or SIGEC_DATA_DIR names `data_dir` (not zombies)."""
    found = {p.pid: p for p in processes_of(data_dir)}
    for proc in psutil.process_iter():
        try:
            if str(data_dir) in proc.environ().get("SIGEC_DATA_DIR", ""):
                found[proc.pid] = proc
        except psutil.Error:
            continue
    alive = []
    for proc in found.values():
        try:
            if proc.pid != os.getpid() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def _wait(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s} s")


def _runtime(data_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((data_dir / "runtime.json").read_text()))
    except (OSError, ValueError):
        return None


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The test's data dir; afterwards, whatever still runs for it is killed by pid."""
    path = tmp_path / "data"
    yield path
    for proc in _ours(path):
        proc.kill()


def _serve(data_dir: Path, env: dict[str, str], workers: int,
           **popen: Any) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    ports = {"http": free_port(), "ocpp": free_port(), "admin": free_port()}
    full_env = {**os.environ, **env, "SIGEC_HTTP_PORT": str(ports["http"]),
                "SIGEC_OCPP_PORT": str(ports["ocpp"]), "SIGEC_LOG__FORMAT": "json",
                "SIGEC_CLUSTER__ADMIN_PORT": str(ports["admin"]), "SIGEC_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sigec_actors.cli", "--data-dir", str(data_dir), "serve",
         "--workers", str(workers)], env=full_env, **popen)
    return proc, ports


def test_a_reader_that_goes_away_cuts_nothing_short_and_nothing_is_left(
        data_dir: Path, cluster_env: dict[str, str]) -> None:
    """`sigec serve 2>&1 | head -3`, then Ctrl-C: ready, exit 0, no process, no listener."""
    proc, ports = _serve(data_dir, cluster_env, 2,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for _ in range(3):
        proc.stdout.readline()
    proc.stdout.close()  # the reader is gone: every later write finds a closed pipe
    _wait(lambda: _runtime(data_dir) is not None or proc.poll() is not None, 60, "ready")
    assert proc.poll() is None, f"serve died before ready: exit {proc.returncode}"
    family = {p.pid for p in _ours(data_dir)}
    assert len(family) >= 5  # serve, thespian admin (+ logger), director, two nodes
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    _wait(lambda: not _ours(data_dir), 5, "every process of this serve gone")
    held = {port for found in listeners(family).values() for _, port in found}
    assert not held & set(ports.values())


def test_ctrl_c_to_a_pipeline_through_tee_leaves_nothing(
        data_dir: Path, cluster_env: dict[str, str], tmp_path: Path) -> None:
    """`sigec serve | tee log`, then Ctrl-C: the terminal signals the whole foreground process
    group at once (serve, the thespian processes it forked, tee), so the reader is gone while
    serve shuts down: exit 0, no process, no listener."""
    tee = subprocess.Popen(["tee", str(tmp_path / "tee.log")], stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, process_group=0)
    assert tee.stdin is not None
    try:
        proc, ports = _serve(data_dir, cluster_env, 2, stdout=tee.stdin,
                             stderr=subprocess.STDOUT, process_group=tee.pid)
    finally:
        tee.stdin.close()  # serve holds the pipe's only write end
    _wait(lambda: _runtime(data_dir) is not None or proc.poll() is not None, 60, "ready")
    assert proc.poll() is None, f"serve died before ready: exit {proc.returncode}"
    family = {p.pid for p in _ours(data_dir)}
    assert os.getpgid(proc.pid) == tee.pid  # one foreground group, as a shell makes it
    os.killpg(tee.pid, signal.SIGINT)
    assert tee.wait(10) != 0  # the reader died of the signal
    assert proc.wait(30) == 0
    _wait(lambda: not _ours(data_dir), 5, "every process of this serve gone")
    held = {port for found in listeners(family).values() for _, port in found}
    assert not held & set(ports.values())
    assert "cluster_system_started" in (tmp_path / "tee.log").read_text()


def test_runtime_json_lists_the_pid_of_a_restarted_node(
        data_dir: Path, cluster_env: dict[str, str]) -> None:
    proc, _ = _serve(data_dir, cluster_env, 1, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    _wait(lambda: _runtime(data_dir) is not None or proc.poll() is not None, 60, "ready")
    runtime = _runtime(data_dir)
    assert runtime is not None, f"serve exited {proc.returncode}"
    first = runtime["nodes"][0]["pid"]
    psutil.Process(first).send_signal(signal.SIGKILL)

    def replaced() -> bool:
        now = _runtime(data_dir)
        return now is not None and now["nodes"][0]["pid"] != first

    _wait(replaced, 15, "runtime.json names the restarted node")
    runtime = _runtime(data_dir)
    assert runtime is not None and len(runtime["nodes"]) == 1
    new = psutil.Process(runtime["nodes"][0]["pid"])
    assert new.status() != psutil.STATUS_ZOMBIE
    assert runtime["pid"] == proc.pid and runtime["workers"] == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    _wait(lambda: not _ours(data_dir), 5, "every process of this serve gone")
    assert not (data_dir / "runtime.json").exists()


def test_sigkill_while_starting_leaves_no_thespian_process(nats_url: str) -> None:
    """Killed after the ActorSystem forked but before the nodes were asked for (the embedded
    PostgreSQL is starting): the director ends the daemonized processes anyway."""
    root = Path(tempfile.mkdtemp(prefix="sigec-start-kill-"))  # pgserver as root: see pg test
    data_dir = root / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["NATS_URL"] = nats_url
    log = root / "serve.log"
    with log.open("wb") as out:
        proc, _ = _serve(data_dir, env, 2, stdout=out, stderr=out)
    try:  # the director has been told serve's pid once this is logged
        _wait(lambda: "cluster_system_started" in log.read_text() or proc.poll() is not None,
              30, "thespian admin and director started")
        assert _runtime(data_dir) is None, "precondition: killed before the nodes started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        try:
            _wait(lambda: not _ours(data_dir), 15, "every process of this serve gone")
        except AssertionError:
            raise AssertionError([p.cmdline()[:4] for p in _ours(data_dir)]) from None
    finally:
        for left in _ours(data_dir):
            left.kill()
        shutil.rmtree(root, ignore_errors=True)
