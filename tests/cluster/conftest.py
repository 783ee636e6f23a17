"""Multi-process fixtures: `sigec serve --workers N` (and `--join`) as real processes on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.helpers.server import free_port


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Every process whose command line names `data_dir` (serve, admin, director, nodes)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(str(data_dir) in part for part in cmdline) and proc.pid != os.getpid():
            found.append(proc)
    return found


@dataclass
class Serve:
    """One `sigec serve` process started by a test, and how to reach it."""

    data_dir: Path
    proc: subprocess.Popen[bytes]
    http_port: int
    admin_port: int
    log_path: Path
    runtime: dict[str, Any] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def wait_ready(self, timeout_s: float = 40.0) -> dict[str, Any]:
        path = self.data_dir / "runtime.json"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.log()}")
            if path.exists():
                self.runtime = json.loads(path.read_text())
                return self.runtime
            time.sleep(0.1)
        raise AssertionError(f"serve not ready in {timeout_s} s:\n{self.log()}")

    def wait_output(self, text: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen in {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout_s: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def kill_leftovers(self) -> list[int]:
        """Last resort after a failed test: kill, by pid, what this test's serve left behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        left = processes_of(self.data_dir)
        for proc in left:
            proc.kill()
        return [p.pid for p in left]


def start_serve(tmp: Path, env: dict[str, str], args: list[str], *,
                http_port: int | None = None, admin_port: int | None = None,
                name: str = "serve") -> Serve:
    data_dir = tmp / name
    data_dir.mkdir(parents=True, exist_ok=True)
    http_port = http_port or free_port()
    admin_port = admin_port or free_port()
    full_env = {**os.environ, **env, "SIGEC_HTTP_PORT": str(http_port),
                "SIGEC_CLUSTER__ADMIN_PORT": str(admin_port), "SIGEC_LOG__FORMAT": "json"}
    full_env.setdefault("SIGEC_OCPP_PORT", str(free_port()))
    log_path = data_dir.parent / f"{name}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sigec_actors.cli", "--data-dir", str(data_dir), "serve",
             *args], env=full_env, stdout=out, stderr=subprocess.STDOUT)
    return Serve(data_dir, proc, http_port, admin_port, log_path)


def cluster_pids(serve: Serve) -> set[int]:
    """`serve`, its descendants and thespian's daemonized admin tree (same data dir)."""
    pids = {serve.proc.pid}
    with contextlib.suppress(psutil.NoSuchProcess):
        pids |= {p.pid for p in psutil.Process(serve.proc.pid).children(recursive=True)}
    return pids | {p.pid for p in processes_of(serve.data_dir)}


def listeners(pids: set[int]) -> dict[int, list[tuple[str, int]]]:
    """Every LISTEN socket (IPv4 and IPv6) of `pids`, as (address, port) per pid. An
    IPv4-mapped address (gRPC's socket for 127.0.0.1 is `::ffff:127.0.0.1`) is given as the
    IPv4 address it is: such a socket accepts connections to that address only."""
    found: dict[int, list[tuple[str, int]]] = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            conns = psutil.Process(pid).net_connections(kind="inet")
            found[pid] = [(c.laddr.ip.removeprefix("::ffff:"), c.laddr.port) for c in conns
                          if c.status == psutil.CONN_LISTEN]
    return found


@pytest.fixture
def cluster_env(pg_dsn: str, nats_url: str) -> dict[str, str]:
    """External data plane for serve: nodes never start embedded services. No first-boot
    GetBaseReport: tests read a station actor's few recent messages for its BootNotification."""
    return {"DATABASE_URL": pg_dsn, "NATS_URL": nats_url,
            "SIGEC_DEVICE_MODEL__FULL_INVENTORY_ON_FIRST_BOOT": "false"}


@pytest.fixture
def serves(tmp_path: Path) -> Iterator[list[Serve]]:
    """Collects the serves a test starts; stops them and kills leftovers afterwards."""
    started: list[Serve] = []
    yield started
    for serve in reversed(started):
        with contextlib.suppress(subprocess.TimeoutExpired):
            serve.terminate()
        serve.kill_leftovers()
