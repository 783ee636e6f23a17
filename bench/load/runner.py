"""One scenario against one target: start it, connect and boot, measure a window, report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil

from bench.load import stats
from bench.load.config import MEASURING, LoadConfig
from bench.load.summary import build_report
from bench.load.target import Target, Unavailable, Usage, nofile_soft
from bench.load.workers import WorkerPool
from bench.peers.sigec import SigecTarget
from bench.peers.sigec_api import SigecApi

_POLL_S = 0.02
_SAMPLE_S = 1.0  # psutil walks the whole process table: keep the runner light


@dataclass
class Marks:
    """Times (monotonic) and measurements the runner takes along the way."""

    go_at: float = 0.0
    all_connected_at: float | None = None
    all_booted_at: float | None = None
    baseline: Usage = field(default_factory=Usage)
    connected: Usage = field(default_factory=Usage)
    peak_rss: int = 0
    connected_count: int = 0
    window: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


async def run_scenario(cfg: LoadConfig, target: Target) -> dict[str, Any]:
    """Start `target`, run `cfg` against it, stop it; a JSON-able report (or why not)."""
    try:
        await asyncio.to_thread(target.start)
    except Unavailable as exc:
        return {"scenario": cfg.scenario, "target": target.name, "unavailable": str(exc)}
    try:
        cfg.url = target.url
        marks = Marks()
        await _prepare_sigec(cfg, target, marks)
        marks.baseline = target.usage()
        pool = WorkerPool(cfg)
        merged = await _drive(cfg, target, pool, marks)
        return build_report(cfg, target, marks, merged, nofile_soft())
    finally:
        await asyncio.to_thread(target.stop)


async def _drive(cfg: LoadConfig, target: Target, pool: WorkerPool,
                 marks: Marks) -> stats.WorkerStats:
    sampler = asyncio.create_task(_sample_peak(target, marks))
    try:
        marks.go_at = await pool.start()
        await _connect_phase(cfg, pool, marks, expected=cfg.stations)
        marks.connected = target.usage()
        marks.connected_count = pool.total(stats.CONNECTED)
        marks.peak_rss = max(marks.peak_rss, marks.connected.rss)
        if cfg.scenario == "reconnect-storm":
            await _restart_phase(cfg, target, pool, marks)
        else:
            await _window(cfg, target, pool, marks)
    finally:
        merged = await pool.stop()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    return merged


async def _sample_peak(target: Target, marks: Marks) -> None:
    while True:
        usage = await asyncio.to_thread(target.usage)
        marks.peak_rss = max(marks.peak_rss, usage.rss)
        await asyncio.sleep(_SAMPLE_S)


def _answered_boots(pool: WorkerPool) -> int:
    return pool.total(stats.BOOTED) + pool.total(stats.BOOT_NOT_ACCEPTED)


async def _connect_phase(cfg: LoadConfig, pool: WorkerPool, marks: Marks, expected: int) -> None:
    """Until every station has connected and had its BootNotification answered (or timeout)."""
    deadline = marks.go_at + cfg.ramp_s + cfg.connect_timeout_s
    while time.monotonic() < deadline:
        now = time.monotonic()
        if marks.all_connected_at is None and pool.total(stats.CONNECTS) >= expected:
            marks.all_connected_at = now
        if _answered_boots(pool) >= expected:
            marks.all_booted_at = now
            return
        await asyncio.sleep(_POLL_S)


async def _window(cfg: LoadConfig, target: Target, pool: WorkerPool, marks: Marks) -> None:
    """The measured window: counters, server and client CPU at both ends."""
    before, server0, client0 = pool.snapshot(), target.usage(), pool.usage()
    nodes0 = target.node_loads() if isinstance(target, SigecTarget) else {}
    machine0, runner0 = psutil.cpu_times(), time.process_time()
    started = time.monotonic()
    pool.flags[MEASURING] = 1.0
    if cfg.scenario == "commands" and isinstance(target, SigecTarget):
        marks.extra["commands"] = await _commands(cfg, target)
    else:
        await asyncio.sleep(cfg.duration_s)
    pool.flags[MEASURING] = 0.0
    elapsed = time.monotonic() - started
    after, server1, client1 = pool.snapshot(), target.usage(), pool.usage()
    nodes1 = target.node_loads() if isinstance(target, SigecTarget) else {}
    machine_busy = _busy_s(psutil.cpu_times()) - _busy_s(machine0)
    bench_cpu = (server1.cpu_s - server0.cpu_s + server1.services_cpu_s - server0.services_cpu_s
                 + client1.cpu_s - client0.cpu_s + time.process_time() - runner0)
    marks.peak_rss = max(marks.peak_rss, server1.rss)
    marks.window = {
        "duration_s": round(elapsed, 3),
        "counters": {k: after[k] - before[k] for k in after},
        "connected_at_end": after["connected"],
        "server_cpu_s": round(server1.cpu_s - server0.cpu_s, 3),
        "services_cpu_s": round(server1.services_cpu_s - server0.services_cpu_s, 3),
        "client_cpu_s": round(client1.cpu_s - client0.cpu_s, 3),
        # all cores busy, and busy with anything but this bench (other sessions, the kernel's
        # own threads): a run where `other` is high was disturbed
        "machine_busy_pct": round(100 * machine_busy / elapsed, 1),
        "other_cpu_pct": round(100 * max(0.0, machine_busy - bench_cpu) / elapsed, 1),
    }
    if nodes1:
        marks.window["nodes"] = [
            {"pid": pid, "connections": conns,
             "cpu_pct": round(100 * (cpu - nodes0.get(pid, (cpu, 0))[0]) / elapsed, 1)}
            for pid, (cpu, conns) in sorted(nodes1.items())]


def _busy_s(times: Any) -> float:
    """Machine-wide busy CPU seconds: user, nice, system, and the interrupt time that the kernel
    books apart but a process's own times include (loopback TCP runs as softirq inside the
    sender's send()), plus what the hypervisor took (steal)."""
    return float(times.user + times.nice + times.system + getattr(times, "irq", 0.0)
                 + getattr(times, "softirq", 0.0) + getattr(times, "steal", 0.0))


async def _restart_phase(cfg: LoadConfig, target: Target, pool: WorkerPool,
                         marks: Marks) -> None:
    """reconnect-storm: restart the server with everyone connected; time until all re-booted."""
    boots_before = _answered_boots(pool)
    killed_at = time.monotonic()
    try:
        await asyncio.to_thread(target.restart)
    except Unavailable as exc:
        marks.extra["restart"] = {"error": str(exc)}
        return
    ready_at = time.monotonic()
    deadline = ready_at + cfg.connect_timeout_s
    # Shared-memory counters written by other processes: polling is the only way to watch them.
    while time.monotonic() < deadline and _answered_boots(pool) < boots_before + cfg.stations:  # noqa: ASYNC110
        await asyncio.sleep(_POLL_S)
    done_at = time.monotonic()
    reconnected = _answered_boots(pool) - boots_before
    marks.extra["restart"] = {
        "restart_s": round(ready_at - killed_at, 3),
        "reconnected": reconnected,
        "all_reconnected": reconnected >= cfg.stations,
        "all_reconnected_after_restart_s": round(done_at - killed_at, 3),
        "all_reconnected_after_ready_s": round(done_at - ready_at, 3),
    }


async def _prepare_sigec(cfg: LoadConfig, target: Target, marks: Marks) -> None:
    """Register the stations through the REST API when it exists; else rely on auto-register."""
    if not isinstance(target, SigecTarget):
        return
    async with aiohttp.ClientSession() as session:
        api = SigecApi(target.http_url, session)
        problem = await api.login(target.admin_email, target.admin_password)
        if problem is not None:
            marks.extra["registration"] = f"auto-register ({problem})"
            return
        ids = [cfg.station_id(i) for i in range(cfg.stations)]
        counts = await api.register(ids, cfg.password)
        marks.extra["registration"] = dict(counts)


async def _commands(cfg: LoadConfig, target: SigecTarget) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        api = SigecApi(target.http_url, session)
        problem = await api.login(target.admin_email, target.admin_password)
        if problem is not None:
            await asyncio.sleep(cfg.duration_s)
            return {"error": problem}
        ids = [cfg.station_id(i) for i in range(cfg.stations)]
        hists, outcomes = await api.command_load(ids, cfg.commands_per_s, cfg.duration_s)
    return {"latency": {k: v.summary() for k, v in hists.items()}, "outcomes": dict(outcomes)}
