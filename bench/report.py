"""Bench output: machine facts, the JSON file, the ratio table appended to bench/RESULTS.md."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
REFERENCES = ("bare", "ocpp-lib")

# (scenario, label, path into the run report, higher is better; None: no direction)
METRICS: tuple[tuple[str, str, tuple[str, ...], bool | None], ...] = (
    ("steady", "messages/s", ("window", "messages_per_s"), True),
    ("steady", "server CPU % (100 = 1 core)", ("window", "server_cpu_pct"), None),
    ("steady", "server CPU us/msg", ("window", "server_cpu_us_per_msg"), False),
    ("steady", "load client CPU us/msg", ("window", "client_cpu_us_per_msg"), False),
    ("steady", "Heartbeat p50 ms", ("latency", "Heartbeat", "p50_ms"), False),
    ("steady", "Heartbeat p99 ms", ("latency", "Heartbeat", "p99_ms"), False),
    ("steady", "server KB/station", ("memory", "bytes_per_station"), False),
    ("boot-storm", "all accepted s", ("connect", "all_accepted_s"), False),
    ("boot-storm", "connects/s", ("connect", "connect_rate_per_s"), True),
    ("boot-storm", "Boot p99 ms", ("latency", "BootNotification", "p99_ms"), False),
    ("boot-storm", "server KB/station", ("memory", "bytes_per_station"), False),
    ("transactions", "messages/s", ("window", "messages_per_s"), True),
    ("transactions", "Updated p99 ms", ("latency", "TransactionEvent:Updated", "p99_ms"), False),
    ("commands", "messages/s", ("window", "messages_per_s"), True),
    ("reconnect-storm", "all back after ready s",
     ("restart", "all_reconnected_after_ready_s"), False),
)


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10,  # noqa: S603
                              check=False, cwd=BENCH_DIR.parent).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Date, commit and machine facts recorded with every result."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(_run(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit + ("+dirty" if dirty else ""),
            "nproc": os.cpu_count(), "cpu": cpu_model(), "mem_gib": round(mem_gib, 1),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": sys.version.split()[0], "kernel": platform.release()}


def write_json(data: dict[str, Any], name: str | None = None) -> Path:
    """bench/out/<timestamp>.json (bench/out is gitignored)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"{name or stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def dig(report: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if not isinstance(node, int | float) or (isinstance(node, float) and math.isnan(node)):
        return None
    return float(node) / 1024 if path[-1] == "bytes_per_station" else float(node)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _by_scenario(runs: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for run in runs:
        grouped.setdefault(run["scenario"], {}).setdefault(run["target"], []).append(run)
    return grouped


def median_of(runs: list[dict[str, Any]], path: tuple[str, ...]) -> float | None:
    """The median of a metric over repeated runs of one target (`run --repeat`)."""
    values = sorted(v for v in (dig(r, path) for r in runs) if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _worker_ratios(targets: list[str]) -> list[tuple[str, str]]:
    """sigec-wN / sigec-w1 for N > 1 (issue 8: 2 workers >= 1.6x one worker)."""
    if "sigec-w1" not in targets:
        return []
    return [(t, "sigec-w1") for t in targets
            if t.startswith("sigec-w") and t[7:].isdigit() and int(t[7:]) > 1]


def ratio_table(runs: list[dict[str, Any]]) -> str:
    """Markdown: one row per scenario metric, a column per target, then SIGEC ratios; a target
    run several times (`run --repeat`) shows the median of its runs."""
    grouped = _by_scenario(runs)
    targets = sorted({r["target"] for r in runs}, key=_target_order)
    sigecs = [t for t in targets if t.startswith("sigec")]
    ratio_cols = [(s, ref) for s in sigecs for ref in REFERENCES if ref in targets]
    ratio_cols += _worker_ratios(targets)
    header = ["scenario", "metric", *targets, "ocpp-lib / bare",
              *(f"{s} / {ref}" for s, ref in ratio_cols)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario, label, path, higher in METRICS:
        by_target = grouped.get(scenario)
        if not by_target:
            continue
        values = {t: median_of(by_target[t], path) if t in by_target else None for t in targets}
        cells = [_cell((by_target.get(t) or [None])[0], values[t]) for t in targets]
        ratios = [_ratio(values.get("ocpp-lib"), values.get("bare"))]
        ratios += [_ratio(values[s], values[ref]) for s, ref in ratio_cols]
        metric = label if higher is None else f"{label} {'↑' if higher else '↓'}"
        lines.append("| " + " | ".join([scenario, metric, *cells, *ratios]) + " |")
    return "\n".join(lines)


def _cell(run: dict[str, Any] | None, value: float | None) -> str:
    if run is not None and "unavailable" in run:
        return "unavailable"
    if run is not None and "skipped" in run:
        return "skipped"
    return _fmt(value)


def _target_order(name: str) -> tuple[int, str]:
    order = {"bare": 0, "ocpp-lib": 1}
    return (order.get(name, 2), name)


def results_section(data: dict[str, Any], command: str) -> str:
    """The markdown block appended to bench/RESULTS.md for one suite run."""
    meta = data["machine"]
    lines = [f"## {meta['date']} · commit `{meta['commit']}`", "",
             f"Machine: {meta['nproc']} cores, {meta['cpu']}, {meta['mem_gib']} GiB RAM, "
             f"load average at start {meta['loadavg_at_start']}. Command: `{command}`. "
             f"Raw JSON: `bench/out/{data.get('json_name', '?')}`."
             + (f" Wall time of the whole run: {data['wall_s']:.0f} s." if data.get("wall_s")
                else ""), ""]
    runs = data.get("runs", [])
    if runs:
        lines += [ratio_table(runs), ""]
        lines += _run_notes(runs)
    for name, micro in data.get("micro", {}).items():
        lines.append(f"- micro `{name}`: {micro.get('status')}"
                     + (f" ({micro['summary']})" if micro.get("summary") else ""))
    for name, micro in data.get("micro", {}).items():
        if micro.get("table"):  # rendered by the suite with the module's own table function
            lines += ["", f"### `{micro.get('command', name)}`", "", micro["table"]]
    lines.append("")
    return "\n".join(lines)


def _run_notes(runs: list[dict[str, Any]]) -> list[str]:
    notes = []
    for run in runs:
        label = f"{run['scenario']} x {run['target']}"
        if "unavailable" in run:
            notes.append(f"- {label}: unavailable: {run['unavailable']}")
        elif "skipped" in run:
            notes.append(f"- {label}: skipped: {run['skipped']}")
        else:
            errors = sum(run.get("errors", {}).values())
            win = run.get("window", {})
            notes.append(f"- {label}: {run['stations']} stations, errors {errors}"
                         + (f", client CPU {win.get('client_cpu_pct')} %, server CPU "
                            f"{win.get('server_cpu_pct')} %" if win else "")
                         + (f", {win.get('messages_per_s'):,.0f} msg/s, machine busy "
                            f"{win['machine_busy_pct']} % of which others "
                            f"{win['other_cpu_pct']} %" if "other_cpu_pct" in win else "")
                         + (f", client loop {'/'.join(run['client_loops'])}"
                            if run.get("client_loops") else "")
                         + (", nodes (connections, CPU %): " + ", ".join(
                             f"{n['connections']}, {n['cpu_pct']}" for n in win["nodes"])
                            if win.get("nodes") else "")
                         + (f"; {run['limits']['warning']}" if "warning" in run["limits"]
                            else ""))
    return [*notes, ""]


def append_results(data: dict[str, Any], command: str) -> None:
    """Append this run's section to bench/RESULTS.md (created with a header if missing)."""
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text("# Bench results\n\nAppended by `python -m bench` (see "
                              "bench/README.md for what each number means). Newest last.\n\n")
    with RESULTS_MD.open("a") as fh:
        fh.write(results_section(data, command) + "\n")


def txevents_table(result: dict[str, Any]) -> str:
    """bench.txevents: a row per load and path (floor, sigec side by side), then issue 7."""
    lines = ["| load | path | events/s | p50 ms | p95 ms | p99 ms | sigec / floor | python CPU %"
             " (µs/event) | PG backends CPU % (µs/event) | errors |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---|"]
    floors = {r["load"]: r for r in result["runs"] if r["path"] == "floor"}
    for r in result["runs"]:
        f = floors.get(r["load"], {})
        ratio = "" if r["path"] == "floor" else (
            f"{_ratio(r['events_per_s'], f.get('events_per_s'))} events/s, "
            if "concurrency" in r else "") + f"{_ratio(r.get('p99_ms'), f.get('p99_ms'))} p99"
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
        lines.append(f"| {r['load']} | {r['path']} | {r['events_per_s']:,.0f} | "
                     f"{r.get('p50_ms')} | {r.get('p95_ms')} | {r.get('p99_ms')} | {ratio} | "
                     f"{r['python_cpu_pct']} ({r.get('python_cpu_us_per_event')}) | "
                     f"{r['pg_backends_cpu_pct']} ({r.get('pg_cpu_us_per_event')}) | {errors} |")
    t = result["targets"]
    lines += ["", f"Issue 7: ≥ {t['target_rate']:,.0f} events/s: **"
              f"{'met' if t['max_rate_met'] else 'not met'}** (best {t['max_events_per_s']:,.0f}"
              f"); p99 < {t['target_p99_ms']:g} ms at {t['rate'] or 0:g} events/s: **"
              f"{'met' if t['p99_met'] else 'not met'}** ({t['p99_ms_at_rate']} ms)."]
    return "\n".join(lines)
