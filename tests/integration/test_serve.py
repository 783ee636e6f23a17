"""`sigec serve` as a user runs it: ready within seconds, runtime.json, clean exit on signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers.server import alive, free_port

SIGEC = str(Path(sys.executable).parent / "sigec")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NATS_URL", "REDIS_URL") and not k.startswith("SIGEC_")}
    env.update(SIGEC_DATA_DIR=str(data_dir), SIGEC_HTTP_PORT="0", SIGEC_OCPP_PORT="0",
               SIGEC_LOG__FORMAT="json", SIGEC_WORKERS="0", SIGEC_SERVER__GRAPHQL_PORT="0",
               SIGEC_SERVER__GRPC_PORT="0")
    env.update(extra)
    return env


def _wait_runtime(data_dir: Path, proc: subprocess.Popen[str], timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    path = data_dir / "runtime.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.returncode}\n{proc.stderr.read() if proc.stderr else ''}")
        if path.exists():
            try:
                return dict(json.loads(path.read_text()))
            except json.JSONDecodeError:
                pass
        time.sleep(0.1)
    raise AssertionError("runtime.json did not appear")


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def serve_proc(tmp_path: Path, pg_dsn: str, nats_url: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen([SIGEC, "serve"], env=_env(data_dir, DATABASE_URL=pg_dsn, NATS_URL=nats_url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc, data_dir
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serve_is_ready_then_exits_cleanly_on_sigterm(serve_proc: tuple[subprocess.Popen[str], Path]) -> None:
    proc, data_dir = serve_proc
    runtime = _wait_runtime(data_dir, proc)
    assert set(runtime) == {"httpUrl", "ocppUrl", "databaseUrl", "natsUrl", "redisUrl", "pid", "workers",
                            "paymentsFakeUrl", "graphqlUrl", "grpcUrl"}
    assert runtime["graphqlUrl"].endswith("/graphql") and ":" in runtime["grpcUrl"]
    assert runtime["pid"] == proc.pid and runtime["redisUrl"] is None
    status, body = _get(f"{runtime['httpUrl']}/health/ready")
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "nats": "ok", "migrations": "ok",
                              "outbox": "backlog 0, oldest 0 s, parked 0"}
    assert _get(f"{runtime['httpUrl']}/health/live")[0] == 200
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 10
    assert not (data_dir / "runtime.json").exists()
    assert "admin@sigec.local" in out and "password :" in out
    # the generated password is printed once on stdout, never logged
    password = out.split("password :")[1].split()[0]
    assert password not in err


def test_default_serve_embedded_cluster_persists_and_leaves_no_process(tmp_path: Path) -> None:
    """What `make run` does: embedded PostgreSQL and NATS, one node process per core."""
    data_dir = tmp_path / "data"
    env = _env(data_dir, SIGEC_ADMIN_PASSWORD="first-admin-pw-123",
               SIGEC_CLUSTER__ADMIN_PORT=str(free_port()))
    del env["SIGEC_WORKERS"]  # the default: "auto"
    for attempt in range(2):
        proc = subprocess.Popen([SIGEC, "serve"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            runtime = _wait_runtime(data_dir, proc)
            assert _get(f"{runtime['httpUrl']}/health/ready")[0] == 200
            assert runtime["workers"] == (os.cpu_count() or 1)
            nodes = [psutil.Process(n["pid"]) for n in runtime["nodes"]]  # type: ignore[attr-defined]
            assert len(nodes) == runtime["workers"]
            nats_pid = int((data_dir / "nats" / "nats.pid").read_text())
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        # second start: the admin exists already (data persisted), nothing is created or printed
        assert ("admin@sigec.local" in out) == (attempt == 0)
        assert "first-admin-pw-123" not in out + err
        assert not Path(f"/proc/{nats_pid}").exists()
        assert not any(alive(node) for node in nodes)
    assert not _postgres_running(data_dir / "pg")


def _postgres_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    return Path(f"/proc/{pid_file.read_text().split()[0]}").exists()


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([SIGEC, "serve"], env=_env(tmp_path, SIGEC_HTTP_PORT="70000"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SIGEC_HTTP_PORT" in result.stderr and "Traceback" not in result.stderr
