"""SIGEC as a bench target: `sigec serve` in a subprocess with a temp data dir and free ports."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.load.target import Target, Unavailable, Usage, free_port, tree_usage

START_TIMEOUT_S = 120.0  # embedded PostgreSQL's first initdb is the slow part
ADMIN_EMAIL = "bench@sigec.local"


@dataclass
class SigecTarget(Target):
    """`sigec serve` with SIGEC_WORKERS=workers; auto-registration on so any id may connect."""

    workers: int = 0
    data_dir: Path | None = None
    http_port: int = 0
    http_url: str = ""
    ocpp_url: str = ""
    admin_password: str = ""
    admin_email: str = ADMIN_EMAIL
    node_pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.ocpp_url or f"ws://127.0.0.1:{self.port}/ocpp"

    def env(self) -> dict[str, str]:
        assert self.data_dir is not None
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "SIGEC_DATA_DIR": str(self.data_dir), "SIGEC_BIND": "127.0.0.1",
               "SIGEC_HTTP_PORT": str(self.http_port), "SIGEC_OCPP_PORT": str(self.port),
               "SIGEC_SERVER__GRAPHQL_PORT": "0", "SIGEC_SERVER__GRPC_PORT": "0",
               "SIGEC_WORKERS": str(self.workers), "SIGEC_OCPP__AUTO_REGISTER": "true",
               "SIGEC_ADMIN_EMAIL": self.admin_email, "SIGEC_ADMIN_PASSWORD": self.admin_password,
               "SIGEC_LOG__LEVEL": "warning", "SIGEC_LOG__FORMAT": "json",
               # A closed loop sends each station's next CALL as soon as the last is answered
               # (25-50 CALLs/s per station here): a flood by S8's 20/s budget, which would
               # answer most of it "rate limited". The budget is off, as in a CSMS sized for
               # it; its check costs ~0.24 us per CALL (python -m timeit on CallBudget.take).
               "SIGEC_OCPP__STATION_CALLS_PER_S": "0"}
        env.pop("SIGEC_CONFIG", None)
        return env

    def start(self) -> None:
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="sigec-bench-"))
            self.port, self.http_port = free_port(), free_port()
            self.admin_password = secrets.token_urlsafe(18)
            if os.environ.get("DATABASE_URL"):
                self._add_admin()
        runtime = self.data_dir / "runtime.json"
        runtime.unlink(missing_ok=True)
        self._spawn([sys.executable, "-m", "sigec_actors.cli", "serve"], env=self.env())
        try:
            info = self._wait_runtime(runtime)
            self.http_url, self.ocpp_url = info["httpUrl"], info["ocppUrl"]
            # with workers the node processes live under thespian's daemonized admin, not
            # under `serve`: follow them by the pids serve advertises
            self.node_pids = [int(n["pid"]) for n in info.get("nodes") or []]
            self._wait_ready()
            self._wait_ocpp_port()
        except Unavailable:
            self.stop()
            raise

    def usage(self) -> Usage:
        """serve's own tree plus every node process (they are not serve's descendants)."""
        total = super().usage()
        if self.proc is None:
            return total
        for pid in self.node_pids:
            part = tree_usage(pid)
            total.cpu_s += part.cpu_s
            total.rss += part.rss
            total.services_cpu_s += part.services_cpu_s
            total.services_rss += part.services_rss
            total.processes += part.processes
        return total

    def node_loads(self) -> dict[int, tuple[float, int]]:
        """Per node pid: (CPU seconds so far, established OCPP connections): is the
        SO_REUSEPORT split even, and does every node work?"""
        out: dict[int, tuple[float, int]] = {}
        for pid in self.node_pids:
            try:
                proc = psutil.Process(pid)
                times = proc.cpu_times()
                conns = sum(1 for c in proc.net_connections("tcp")
                            if c.status == psutil.CONN_ESTABLISHED and c.laddr
                            and c.laddr.port == self.port)
            except psutil.Error:
                continue
            out[pid] = (times.user + times.system, conns)
        return out

    def _add_admin(self) -> None:
        """A shared DATABASE_URL already has users, so serve creates no first admin: add a
        bench admin of this session with `sigec user add` (else stations auto-register)."""
        email = f"bench-{secrets.token_hex(6)}@sigec.local"
        try:
            done = subprocess.run(  # noqa: S603 -- our own CLI, fixed arguments
                [sys.executable, "-m", "sigec_actors.cli", "user", "add", email, "--role",
                 "admin", "--password-stdin"], env=self.env(), input=self.admin_password + "\n",
                capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return
        if done.returncode == 0:
            self.admin_email = email

    def _wait_runtime(self, runtime: Path) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise Unavailable(f"sigec serve exited early ({self._log_tail()})")
            if runtime.exists():
                try:
                    return dict(json.loads(runtime.read_text()))
                except ValueError:
                    pass  # being written
            time.sleep(0.2)
        raise Unavailable(f"no runtime.json after {START_TIMEOUT_S:.0f} s")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.http_url}/health/ready", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.3)
        raise Unavailable(f"/health/ready never answered 200 ({last})")

    def _wait_ocpp_port(self) -> None:
        host, port = "127.0.0.1", int(self.ocpp_url.rsplit(":", 1)[1].split("/", 1)[0])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=1):
                    self.port = port
                    return
            except OSError:
                time.sleep(0.3)
        raise Unavailable(f"OCPP gateway not listening on {host}:{port} (not built yet?)")

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "no log"
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])[-400:] or "empty log"

    def cleanup(self) -> None:
        """Stop the server and remove its temporary data dir."""
        self.stop(timeout_s=20)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
