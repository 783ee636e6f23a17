"""Run the other engineers' micro-benchmarks (bench.codec, bench.actors) and keep their JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

MICRO_MODULES = ("bench.codec", "bench.actors")
TIMEOUT_S = 120.0


def last_json(text: str) -> Any:
    """The whole stdout as JSON, else the last line that parses as a JSON object."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        if line.lstrip().startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def run_micro(module: str, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """`python -m module`, bounded in time; status, parsed JSON or the output's tail."""
    if importlib.util.find_spec(module) is None:
        return {"status": "absent (module not written yet)"}
    try:
        proc = subprocess.run([sys.executable, "-m", module], capture_output=True,  # noqa: S603
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout_s:.0f} s"}
    data = last_json(proc.stdout)
    out: dict[str, Any] = {"status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}"}
    if data is not None:
        out["result"] = data
    else:
        out["stdout_tail"] = proc.stdout[-2000:]
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-2000:]
    return out


def run_all() -> dict[str, dict[str, Any]]:
    results = {}
    for module in MICRO_MODULES:
        print(f"bench: micro {module} ...", file=sys.stderr, flush=True)
        results[module.split(".", 1)[1]] = run_micro(module)
    return results
