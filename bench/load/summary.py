"""Turn the runner's marks and the workers' stats into one JSON-able scenario report."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bench.load import stats
from bench.load.config import LoadConfig

if TYPE_CHECKING:
    from bench.load.runner import Marks
    from bench.load.target import Target

_MB = 1024 * 1024
# A loopback connection costs one fd in the client and one in the server, plus a few spare.
_FD_HEADROOM = 64


def _seconds(start: float, end: float | None) -> float | None:
    return None if end is None else round(end - start, 3)


def connect_section(cfg: LoadConfig, marks: Marks, merged: stats.WorkerStats) -> dict[str, Any]:
    """How fast the stations got in: connect rate and time until all boots were answered."""
    all_connected = _seconds(marks.go_at, marks.all_connected_at)
    accepted = merged.boot_status.get("Accepted", 0)
    out: dict[str, Any] = {
        "all_connected_s": all_connected,
        "all_boots_answered_s": _seconds(marks.go_at, marks.all_booted_at),
        # reconnect-storm boots twice: the first phase ends at the runner's all_booted_at
        "all_accepted_s": (round(min(merged.last_boot_at, marks.all_booted_at or math.inf)
                                 - marks.go_at, 3) if accepted >= cfg.stations else None),
        "boot_status": dict(merged.boot_status),
        "server_cpu_s": round(marks.connected.cpu_s - marks.baseline.cpu_s, 3),
    }
    if all_connected:
        out["connect_rate_per_s"] = round(cfg.stations / max(all_connected, 1e-6), 1)
    return out


def window_section(window: dict[str, Any], connected: int) -> dict[str, Any]:
    """messages/s and CPU cost in the measured window."""
    if not window:
        return {}
    out = dict(window)
    dur = max(window["duration_s"], 1e-6)
    msgs = window["counters"]["messages"]
    out["messages_per_s"] = round(msgs / dur, 1)
    out["server_cpu_pct"] = round(100 * window["server_cpu_s"] / dur, 1)
    out["client_cpu_pct"] = round(100 * window["client_cpu_s"] / dur, 1)
    if msgs:
        out["server_cpu_us_per_msg"] = round(1e6 * window["server_cpu_s"] / msgs, 1)
        out["client_cpu_us_per_msg"] = round(1e6 * window["client_cpu_s"] / msgs, 1)
    out["stations_connected"] = connected
    return out


def memory_section(marks: Marks, connected: int) -> dict[str, Any]:
    """Server RSS before any station, with all connected, peak; bytes per station."""
    base, conn = marks.baseline, marks.connected
    out: dict[str, Any] = {
        "server_processes": conn.processes,
        "rss_baseline_mb": round(base.rss / _MB, 1),
        "rss_connected_mb": round(conn.rss / _MB, 1),
        "rss_peak_mb": round(marks.peak_rss / _MB, 1),
        "services_rss_mb": round(conn.services_rss / _MB, 1),
    }
    if connected:
        out["bytes_per_station"] = int((conn.rss - base.rss) / connected)
    return out


def limits_section(cfg: LoadConfig, nofile: int, target: Target) -> dict[str, Any]:
    """Whether the fd limit allows the run; stated in the output when it does not."""
    per_worker = -(-cfg.stations // cfg.workers)
    out: dict[str, Any] = {"runner_nofile_soft": nofile, "stations_per_worker": per_worker,
                           "notes": list(target.notes)}
    if per_worker + _FD_HEADROOM > nofile or cfg.stations + _FD_HEADROOM > nofile:
        out["warning"] = (f"RLIMIT_NOFILE {nofile} is too low for {cfg.stations} sockets "
                          f"in the server (or {per_worker} per worker): raise `ulimit -Hn`")
    return out


def build_report(cfg: LoadConfig, target: Target, marks: Marks, merged: stats.WorkerStats,
                 nofile: int) -> dict[str, Any]:
    """The whole scenario report."""
    connected = marks.connected_count
    report: dict[str, Any] = {
        "scenario": cfg.scenario, "target": target.name, "stations": cfg.stations,
        "config": cfg.to_dict(),
        "connect": connect_section(cfg, marks, merged),
        "window": window_section(marks.window, marks.window.get("connected_at_end", 0)),
        "latency": {k: v.summary() for k, v in sorted(merged.latency.items())},
        "errors": dict(merged.errors.most_common()),
        "memory": memory_section(marks, connected),
        "client_cpu_s_total": round(merged.cpu_s, 2),
        "client_loops": dict(merged.loops),
        "limits": limits_section(cfg, nofile, target),
    }
    report.update(marks.extra)
    return report
