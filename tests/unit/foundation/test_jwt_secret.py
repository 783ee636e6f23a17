"""The generated JWT secret: one per data dir, even when node processes start at once."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from sigec_actors.bootstrap import jwt_secret
from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError


def _secret_after(data_dir: str, start: Any, out: Any) -> None:
    """In a child: wait for every sibling, then ask for the secret at once."""
    settings = load_settings({"SIGEC_DATA_DIR": data_dir})
    start.wait()
    try:
        out.put(jwt_secret(settings))
    except Exception as exc:  # the parent reports what went wrong
        out.put(f"error: {exc!r}")


def test_processes_racing_on_a_fresh_data_dir_all_get_the_one_secret(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    n = 16
    start, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_secret_after, args=(str(tmp_path), start, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    secrets = [out.get(timeout=20) for _ in procs]
    for p in procs:
        p.join(10)
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 48, secrets
    path = tmp_path / "jwt_secret"
    assert path.read_text().strip() == secrets[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt_secret"]  # no candidate left


def test_a_configured_secret_wins_and_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    assert jwt_secret(load_settings({"SIGEC_DATA_DIR": str(tmp_path),
                                     "SIGEC_JWT_SECRET": "given"})) == "given"
    assert not (tmp_path / "jwt_secret").exists()
    (tmp_path / "jwt_secret").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        jwt_secret(load_settings({"SIGEC_DATA_DIR": str(tmp_path)}))
