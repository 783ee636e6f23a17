"""`python -m bench`: the bench harness (see bench/README.md).

With no command, or `suite`, this is the default suite that `make bench` runs (< 5 minutes on
the 2-core build machine): the steady closed loop and the boot storm against bare, ocpp-lib,
sigec-w0, sigec-w1 and sigec-wN (N = cores), then the micro-benchmarks (bench.codec, a short
bench.actors, bench.cluster latency, bench.txevents --short, bench.v2g --short,
bench.firmware), all in one
RESULTS.md section.
Every other command (`run`, `sweep`, `plot`) is bench.load.cli's.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.load import cli, suite

CORES = os.cpu_count() or 2
SUITE_TARGETS = tuple(dict.fromkeys(("bare", "ocpp-lib", "sigec-w0", "sigec-w1",
                                     f"sigec-w{CORES}")))
# The suite's defaults, chosen so that the whole of `make bench` stays under 5 minutes.
SUITE_DEFAULTS = ("--steady-s", "10", "--boot-stations", "2000")


def _codec_table(result: dict[str, Any]) -> str:
    from bench.codec import markdown
    return markdown(result)


def _actors_table(result: dict[str, Any]) -> str:
    from bench.actors import table
    return table(result)


def _v2g_table(result: dict[str, Any]) -> str:
    from bench.v2g import table
    return table(result)


def _firmware_table(result: dict[str, Any]) -> str:
    from bench.firmware import table
    return table(result)


def _cluster_table(result: dict[str, Any]) -> str:
    rows = [f"| {name} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} |"
            for name, r in result["latency"].items()]
    return "\n".join(["| path | p50 ms | p99 ms | mean ms |", "|---|---|---|---|", *rows])


# (name, argv after `python -m`, timeout s, renderer of its JSON)
MICRO: tuple[tuple[str, tuple[str, ...], float, Callable[[dict[str, Any]], str]], ...] = (
    ("codec", ("bench.codec",), 90.0, _codec_table),
    ("actors", ("bench.actors", "--actors", "20000", "--memory-actors", "10000", "--asks",
                "50000", "--spread", "5000", "--restarts", "500"), 90.0, _actors_table),
    ("cluster", ("bench.cluster", "latency", "--commands", "1000"), 60.0, _cluster_table),
    ("txevents", ("bench.txevents", "--short"), 120.0, report.txevents_table),
    ("v2g", ("bench.v2g", "--short"), 120.0, _v2g_table),
    # a 1,000-station campaign, maxConcurrent 100 (issue 17): ~55 s plus ~20 s of setup
    ("firmware", ("bench.firmware",), 240.0, _firmware_table),
)


def parse_json(text: str) -> Any:
    """The first JSON object that starts a line of `text` (indented or on one line)."""
    decoder = json.JSONDecoder()
    for i, line in enumerate(lines := text.splitlines()):
        if line.startswith("{"):
            try:
                return decoder.raw_decode("\n".join(lines[i:]))[0]
            except ValueError:
                continue
    return None


def _cluster_json(stdout: str) -> Any:
    """bench.cluster latency prints markdown and the path of its JSON file."""
    for line in stdout.splitlines():
        if line.startswith("Raw JSON: "):
            try:
                return json.loads(Path(line[10:].strip()).read_text())
            except (OSError, ValueError):
                return None
    return None


def run_micro(name: str, argv: Sequence[str], timeout_s: float,
              render: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """`python -m argv`, bounded in time: status, seconds, its JSON and its table."""
    out: dict[str, Any] = {"command": "python -m " + " ".join(argv)}
    print(f"bench: micro {out['command']} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True,  # noqa: S603
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {**out, "status": f"timed out after {timeout_s:.0f} s"}
    out["seconds"] = round(time.monotonic() - started, 1)
    out["status"] = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    data = _cluster_json(proc.stdout) if name == "cluster" else parse_json(proc.stdout)
    if isinstance(data, dict):
        out["result"] = data
        try:
            out["table"] = render(data)
        except (KeyError, TypeError, ValueError) as exc:
            out["status"] += f" (table: {type(exc).__name__}: {exc})"
    else:
        out["stdout_tail"] = proc.stdout[-2000:]
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-2000:]
    return out


def cmd_suite(argv: list[str]) -> int:
    """Load scenarios against every target, then the micro-benchmarks; one RESULTS.md section."""
    started = time.monotonic()
    args = cli.build_parser().parse_args(["suite", *SUITE_DEFAULTS, *argv])
    configs = suite.default_configs(args.steady_stations, args.steady_s, args.boot_stations,
                                    args.workers)
    data: dict[str, Any] = {"kind": "suite", "machine": report.machine()}
    targets = args.targets or list(SUITE_TARGETS)
    data["runs"] = asyncio.run(suite.run_configs(configs, targets, report.OUT_DIR / "logs"))
    if not args.no_micro:
        data["micro"] = {name: run_micro(name, m_argv, timeout, render)
                         for name, m_argv, timeout, render in MICRO}
        for micro in data["micro"].values():
            print(f"\n{micro['command']}: {micro['status']}\n{micro.get('table', '')}")
    data["wall_s"] = round(time.monotonic() - started, 1)
    command = "python -m bench" + ("" if not argv else " suite " + " ".join(argv))
    suite.finish(data, command, append=not args.no_append)
    print(f"bench: suite took {data['wall_s']} s", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "suite":
        from bench.load.limits import raise_nofile

        raise_nofile()
        return cmd_suite(argv[1:])
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
