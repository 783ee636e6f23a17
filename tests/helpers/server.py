"""Run `sigec serve` as a subprocess for end-to-end tests, and talk to its REST API."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil

SIGEC = str(Path(sys.executable).parent / "sigec")
ADMIN_EMAIL = "admin@sigec.local"
ADMIN_PASSWORD = "e2e-admin-password-1"


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for fixed ports a restarted server must keep).

    Chosen below the kernel's ephemeral range: a port the kernel handed out for port 0 and
    took back can be handed out again at once to any socket bound to port 0 (thespian's actor
    ports, a client's), which then holds the port the server was told to listen on.
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(20_000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port below the ephemeral range")


def alive(proc: psutil.Process) -> bool:
    """Still the same process (not a reused pid) and not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for one server: free ports, JSON logs, known admin password."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NATS_URL", "REDIS_URL") and not k.startswith("SIGEC_")}
    env.update(SIGEC_DATA_DIR=str(data_dir), SIGEC_HTTP_PORT="0", SIGEC_OCPP_PORT="0",
               SIGEC_LOG__FORMAT="json", SIGEC_ADMIN_PASSWORD=ADMIN_PASSWORD,
               SIGEC_ADMIN_EMAIL=ADMIN_EMAIL, SIGEC_WORKERS="0",
               SIGEC_SERVER__GRAPHQL_PORT="0", SIGEC_SERVER__GRPC_PORT="0",
               # GraphQL and gRPC cost a server ~0.7 s to start and stop; the tests of those
               # surfaces (tests/graphql, tests/grpc, the listener guards) turn them on
               SIGEC_SERVER__GRAPHQL_ENABLED="false", SIGEC_SERVER__GRPC_ENABLED="false",
               # test stations that take the next frame for their answer would read the node's
               # own first-boot GetBaseReport; tests/device_model turns it on
               SIGEC_DEVICE_MODEL__FULL_INVENTORY_ON_FIRST_BOOT="false")
    env.update(extra)
    return env


class ServerProcess:
    """A `sigec serve` child; `start()` waits for runtime.json, `stop()` sends SIGTERM."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.runtime: dict[str, Any] = {}

    def start(self, timeout_s: float = 30) -> dict[str, Any]:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([SIGEC, "serve"], env=self.env, stdout=log, stderr=log)
        path = self.data_dir / "runtime.json"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.proc.returncode}\n{self.log()}")
            if path.exists():
                try:
                    self.runtime = json.loads(path.read_text())
                    if self.runtime.get("pid") == self.proc.pid:
                        return self.runtime
                except json.JSONDecodeError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready\n{self.log()}")

    @property
    def http(self) -> str:
        return str(self.runtime["httpUrl"])

    @property
    def ocpp(self) -> str:
        return str(self.runtime["ocppUrl"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Api:
    """A tiny REST client with a bearer token."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base
        self.session = session
        self.token = ""

    async def login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
        status, body = await self.call("POST", "/api/v1/auth/login",
                                       {"email": email, "password": password})
        assert status == 200, body
        self.token = body["accessToken"]

    async def register(self, name: str, email: str, password: str) -> None:
        """Create a user account (role user) and sign in as it."""
        status, body = await self.call("POST", "/api/v1/auth/register", {
            "name": name, "email": email, "password": password})
        assert status == 201, body
        await self.login(email, password)

    async def until(self, path: str, ok: Callable[[Any], Any], tries: int = 100) -> Any:
        """GET `path` every 0.1 s until it answers 200 with a body `ok` accepts."""
        status, body = None, None
        for _ in range(tries):
            status, body = await self.call("GET", path)
            if status == 200 and ok(body):
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path}: {status} {body}")

    async def add_station(self, station_id: str, profile: int = 1) -> str:
        """Register a station as an admin; returns its one-time password."""
        status, body = await self.call("POST", "/api/v1/admin/stations",
                                       {"id": station_id, "securityProfile": profile})
        assert status == 201, body
        return str(body["password"])

    async def call(self, method: str, path: str, body: Any = None,
                   extra_headers: dict[str, str] | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra_headers or {})
        async with self.session.request(method, self.base + path, json=body,
                                        headers=headers) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else None)
