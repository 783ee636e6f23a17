"""Servers under test as subprocesses we start, measure with psutil and end by PID."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from bench.load.limits import raise_nofile

# Processes of the data plane (embedded PostgreSQL/NATS): measured apart from the app.
SERVICE_NAMES = ("postgres", "nats-server", "pg_ctl", "initdb")
PEER_MODULES = {"bare": "bench.peers.bare", "ocpp-lib": "bench.peers.ocpp_lib"}


class Unavailable(Exception):
    """The target could not be started; the run records the reason instead of crashing."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def preexec_raise_nofile() -> None:
    """preexec_fn for server subprocesses: the limit survives exec."""
    raise_nofile()


def nofile_soft() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Usage:
    """CPU seconds and RSS bytes of a process tree, app and data-plane services apart."""

    cpu_s: float = 0.0
    rss: int = 0
    services_cpu_s: float = 0.0
    services_rss: int = 0
    processes: int = 0


def tree_usage(pid: int) -> Usage:
    """Sum cpu (user+system) and RSS over `pid` and its live descendants."""
    usage = Usage()
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return usage
    for proc in procs:
        try:
            with proc.oneshot():
                times, rss, name = proc.cpu_times(), proc.memory_info().rss, proc.name()
        except psutil.Error:
            continue
        cpu = times.user + times.system
        if any(name.startswith(s) for s in SERVICE_NAMES):
            usage.services_cpu_s += cpu
            usage.services_rss += rss
        else:
            usage.cpu_s += cpu
            usage.rss += rss
            usage.processes += 1
    return usage


@dataclass
class Target:
    """A server we start on 127.0.0.1; subclasses say how."""

    name: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    _log: IO[bytes] | None = None
    _descendants: dict[int, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def usage(self) -> Usage:
        proc = self.proc
        if proc is None:  # between stop and start (reconnect-storm)
            return Usage()
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                self._descendants[child.pid] = child.create_time()
        return tree_usage(proc.pid)

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            argv, stdout=subprocess.PIPE, stderr=self._log or subprocess.DEVNULL,
            env=env, preexec_fn=preexec_raise_nofile)  # noqa: PLW1509 - no threads yet

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM our process, SIGKILL it after `timeout_s`, then any descendant we saw."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        for pid, created in self._descendants.items():
            with contextlib.suppress(psutil.Error):
                child = psutil.Process(pid)
                if child.create_time() == created:  # the same process, left behind by ours
                    child.kill()
        self._descendants.clear()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same port (reconnect-storm)."""
        self.stop()
        self.start()


@dataclass
class PeerTarget(Target):
    """bench.peers.bare or bench.peers.ocpp_lib, started as `python -m ...`."""

    def start(self) -> None:
        self.port = self.port or free_port()
        self._spawn([sys.executable, "-m", PEER_MODULES[self.name], "--port", str(self.port)],
                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc is not None
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode().strip()
            if line.startswith("NOFILE"):
                self.notes.append(f"server RLIMIT_NOFILE soft={line.split()[1]}")
            if line.startswith("READY"):
                return
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise Unavailable(f"{self.name} peer did not start (see {self.log_path})")
