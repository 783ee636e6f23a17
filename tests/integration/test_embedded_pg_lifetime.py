"""The embedded PostgreSQL lives exactly as long as its last user, even one killed by SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from sigec_actors.pg_guard import postmaster_alive

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]

SIGEC = [sys.executable, "-m", "sigec_actors.cli"]


def _env(data_dir: Path, nats_url: str) -> dict[str, str]:
    """Embedded PostgreSQL (no DATABASE_URL), the test's NATS, one inline node, free ports."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("SIGEC_")}
    env.update(SIGEC_DATA_DIR=str(data_dir), SIGEC_HTTP_PORT="0", SIGEC_OCPP_PORT="0",
               SIGEC_WORKERS="0", SIGEC_LOG__FORMAT="json", NATS_URL=nats_url,
               SIGEC_ADMIN_PASSWORD="first-admin-pw-123")
    return env


def _ours(data_dir: Path) -> list[psutil.Process]:
    """Live processes naming `data_dir` on their command line (postgres, the guard, serve)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if (proc.pid != os.getpid() and proc.status() != psutil.STATUS_ZOMBIE
                    and any(str(data_dir) in part for part in proc.info["cmdline"] or [])):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "pg" / "postmaster.pid").read_text().split()[0]))


def _wait(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s} s")


def _start(data_dir: Path, nats_url: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    log = data_dir.parent / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([*SIGEC, "--data-dir", str(data_dir), "serve"],
                                env=_env(data_dir, nats_url), stdout=out, stderr=out)
    runtime: dict[str, Any] = {}

    def ready() -> bool:  # a killed serve's runtime.json may still be there: check the pid
        with contextlib.suppress(OSError, ValueError):
            runtime.update(json.loads((data_dir / "runtime.json").read_text()))
        return runtime.get("pid") == proc.pid or proc.poll() is not None

    _wait(ready, 60, "serve ready")
    assert proc.poll() is None, f"serve exited {proc.returncode}: {log.read_text()[-3000:]}"
    return proc, runtime


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """The test's data dir; afterwards, whatever still runs for it is killed by pid.

    Not under tmp_path: as root, postgres runs as the pgserver user, and a pytest starting
    meanwhile resets /tmp/pytest-of-root to 0700, which that user then cannot traverse."""
    root = Path(tempfile.mkdtemp(prefix="sigec-pg-life-"))
    path = root / "data"
    yield path
    for proc in _ours(path):
        proc.kill()
    shutil.rmtree(root, ignore_errors=True)


def test_sigkill_of_serve_stops_its_postgres(data_dir: Path, nats_url: str) -> None:
    proc, _ = _start(data_dir, nats_url)
    postgres = _postmaster(data_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    _wait(lambda: not postgres.is_running() or postgres.status() == psutil.STATUS_ZOMBIE,
          15, "the embedded postgres stopped")
    _wait(lambda: not _ours(data_dir), 5, "no process of this data dir left")


def test_next_serve_adopts_an_orphaned_postgres_and_stops_it(
        data_dir: Path, nats_url: str) -> None:
    """A postgres orphaned by a killed serve whose guard was killed too (as before the guard
    existed): the next serve drops the dead holder, uses the server and stops it at exit."""
    first, _ = _start(data_dir, nats_url)
    for guard in _ours(data_dir):
        if "sigec_actors.pg_guard" in guard.cmdline():
            guard.kill()
    first.send_signal(signal.SIGKILL)
    first.wait(5)
    orphan = _postmaster(data_dir)
    time.sleep(0.5)
    assert orphan.is_running(), "precondition: the orphan is still there"
    second, runtime = _start(data_dir, nats_url)
    with urllib.request.urlopen(f"{runtime['httpUrl']}/health/ready", timeout=5) as resp:
        assert resp.status == 200
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    assert not postmaster_alive(data_dir / "pg")
    _wait(lambda: not _ours(data_dir), 5, "no process of this data dir left")


def test_a_cli_command_next_to_serve_leaves_its_postgres_running(
        data_dir: Path, nats_url: str) -> None:
    proc, runtime = _start(data_dir, nats_url)
    postgres = _postmaster(data_dir)
    result = subprocess.run(
        [*SIGEC, "--data-dir", str(data_dir), "user", "add", "cli@example.org",
         "--password-stdin"], input=b"a-long-cli-password-42\n", capture_output=True,
        env=_env(data_dir, nats_url), timeout=60)
    assert result.returncode == 0, result.stderr
    assert postgres.is_running() and postmaster_alive(data_dir / "pg")
    with urllib.request.urlopen(f"{runtime['httpUrl']}/health/ready", timeout=5) as resp:
        assert resp.status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not postmaster_alive(data_dir / "pg")
    _wait(lambda: not _ours(data_dir), 5, "no process of this data dir left")
