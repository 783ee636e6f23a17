"""Plot a sweep: latency percentiles and throughput against the number of stations (matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import OUT_DIR

PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")
_STYLES = {"p50_ms": "-", "p95_ms": "--", "p99_ms": ":"}


def latest_sweep() -> Path | None:
    """The newest bench/out/*.json that holds a sweep."""
    for path in sorted(OUT_DIR.glob("*.json"), reverse=True):
        try:
            if json.loads(path.read_text()).get("kind") == "sweep":
                return path
        except (OSError, ValueError):
            continue
    return None


def series(runs: list[dict[str, Any]], action: str) -> dict[str, dict[str, list[float]]]:
    """target -> {"stations": [...], "messages_per_s": [...], "p50_ms": [...], ...}."""
    out: dict[str, dict[str, list[float]]] = {}
    for run in sorted(runs, key=lambda r: r["stations"]):
        if "window" not in run or not run["window"]:
            continue
        row = out.setdefault(run["target"], {k: [] for k in ("stations", "messages_per_s",
                                                             *PERCENTILES)})
        lat = run["latency"].get(action, {})
        row["stations"].append(run["stations"])
        row["messages_per_s"].append(run["window"].get("messages_per_s", 0.0))
        for pct in PERCENTILES:
            row[pct].append(lat.get(pct, float("nan")))
    return out


def plot(json_path: Path, png_path: Path | None = None, action: str = "Heartbeat") -> Path:
    """Write the PNG next to the JSON (or at `png_path`); needs matplotlib."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SystemExit("bench plot needs matplotlib: pip install 'matplotlib>=3.8'") from exc
    data = json.loads(json_path.read_text())
    lines = series(data.get("runs", []), action)
    fig, (ax_lat, ax_tput) = plt.subplots(1, 2, figsize=(12, 4.5))
    for target, row in lines.items():
        color = ax_lat.plot([], [])[0].get_color()
        for pct in PERCENTILES:
            ax_lat.plot(row["stations"], row[pct], _STYLES[pct], marker="o", color=color,
                        label=f"{target} {pct[:-3]}")
        ax_tput.plot(row["stations"], row["messages_per_s"], marker="o", color=color,
                     label=target)
    ax_lat.set(xscale="log", yscale="log", xlabel="stations",
               ylabel=f"{action} latency (ms)", title="Latency percentiles")
    ax_tput.set(xscale="log", xlabel="stations", ylabel="messages/s",
                title="Throughput (all actions)")
    for ax in (ax_lat, ax_tput):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    meta = data.get("machine", {})
    fig.suptitle(f"SIGEC-VE bench sweep · {meta.get('date', '')} · {meta.get('nproc')} cores · "
                 f"commit {meta.get('commit', '')}", fontsize=9)
    fig.tight_layout()
    out = png_path or json_path.with_suffix(".png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
