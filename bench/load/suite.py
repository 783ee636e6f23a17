"""Run scenarios against several targets in one go, and the short default suite of `make bench`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import report
from bench.load.config import LoadConfig
from bench.load.runner import run_scenario
from bench.load.target import PeerTarget, Target, Unavailable
from bench.peers.sigec import SigecTarget

DEFAULT_TARGETS = ("bare", "ocpp-lib", "sigec-w0", f"sigec-w{os.cpu_count() or 2}")


def make_target(name: str, log_dir: Path) -> Target:
    """bare | ocpp-lib | sigec (= sigec-w0, the inline node) | sigec-wN (SIGEC_WORKERS=N)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    if name in ("bare", "ocpp-lib"):
        return PeerTarget(name, log_path=log_dir / f"{name}.log")
    if name == "sigec":
        name = "sigec-w0"
    if name.startswith("sigec-w") and name[7:].isdigit():
        return SigecTarget(name, workers=int(name[7:]), log_path=log_dir / f"{name}.log")
    raise ValueError(f"unknown target {name!r}: bare, ocpp-lib, sigec, sigec-wN")


class Session:
    """Targets kept across scenarios (SIGEC keeps its data dir; a failed start is remembered)."""

    def __init__(self, names: list[str], log_dir: Path) -> None:
        self.targets = {n: make_target(n, log_dir) for n in names}
        self.unavailable: dict[str, str] = {}
        self.runs: list[dict[str, Any]] = []

    async def run(self, cfg: LoadConfig) -> list[dict[str, Any]]:
        """`cfg` against every target, one after the other."""
        out = []
        for name, target in self.targets.items():
            out.append(await self._one(dataclasses.replace(cfg), name, target))
        self.runs.extend(out)
        return out

    async def _one(self, cfg: LoadConfig, name: str, target: Target) -> dict[str, Any]:
        base = {"scenario": cfg.scenario, "target": name, "stations": cfg.stations}
        if name in self.unavailable:
            return {**base, "unavailable": self.unavailable[name]}
        if cfg.scenario == "commands" and not isinstance(target, SigecTarget):
            return {**base, "skipped": "commands need SIGEC's REST API; peers have none"}
        print(f"bench: {cfg.scenario} x {name}, {cfg.stations} stations ...",
              file=sys.stderr, flush=True)
        try:
            result = await run_scenario(cfg, target)
        except Unavailable as exc:
            result = {**base, "unavailable": str(exc)}
        if "unavailable" in result:
            self.unavailable[name] = result["unavailable"]
        print(f"bench:   {one_line(result)}", file=sys.stderr, flush=True)
        return result

    def close(self) -> None:
        for target in self.targets.values():
            if isinstance(target, SigecTarget):
                target.cleanup()
            else:
                target.stop()


def one_line(run: dict[str, Any]) -> str:
    """A short human summary of one run."""
    if "unavailable" in run or "skipped" in run:
        return str(run.get("unavailable") or run.get("skipped"))
    conn, win, mem = run["connect"], run.get("window", {}), run["memory"]
    parts = [f"all accepted {conn.get('all_accepted_s')} s",
             f"{conn.get('connect_rate_per_s')} connects/s"]
    if win.get("messages_per_s"):
        parts.append(f"{win.get('messages_per_s')} msg/s")
        parts.append(f"server {win.get('server_cpu_us_per_msg')} us/msg")
    parts.append(f"{mem.get('bytes_per_station', 0) / 1024:.1f} KB/station")
    parts.append(f"errors {sum(run['errors'].values())}")
    if "restart" in run:
        parts.append(f"restart {run['restart']}")
    return ", ".join(parts)


def default_configs(steady_stations: int, steady_s: float, boot_stations: int,
                    workers: int) -> list[LoadConfig]:
    """The short suite: closed-loop steady (throughput), then a boot storm (all at once)."""
    return [
        LoadConfig(scenario="steady", stations=steady_stations, duration_s=steady_s,
                   workers=workers, heartbeat_every_s=0, status_every_s=0),
        LoadConfig(scenario="boot-storm", stations=boot_stations, duration_s=2.0,
                   workers=workers, connect_timeout_s=30.0),
    ]


async def run_configs(configs: list[LoadConfig], targets: list[str],
                      log_dir: Path) -> list[dict[str, Any]]:
    session = Session(targets, log_dir)
    try:
        for cfg in configs:
            await session.run(cfg)
    finally:
        await asyncio.to_thread(session.close)
    return session.runs


def finish(data: dict[str, Any], command: str, append: bool) -> Path:
    """Write the JSON, print the table, append to RESULTS.md when asked."""
    path = report.write_json(data)
    data["json_name"] = path.name
    path.write_text(json.dumps(data, indent=2, default=str))
    if data.get("runs"):
        print(report.ratio_table(data["runs"]))
    print(f"bench: JSON written to {path}", file=sys.stderr)
    if append:
        report.append_results(data, command)
        print(f"bench: appended to {report.RESULTS_MD}", file=sys.stderr)
    return path
