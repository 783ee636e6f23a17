"""bench.v2g's measuring: the node's CPU and RSS, a window's CPU split, latency percentiles."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from bench.txevents import BackendCpu
from tests.helpers.server import ServerProcess


class Server:
    """The node under test: its process (CPU, RSS) and its scratch database's backends."""

    def __init__(self, proc: ServerProcess, dsn: str) -> None:
        self.proc, self.dsn = proc, dsn
        assert proc.proc is not None
        self.ps = psutil.Process(proc.proc.pid)

    def cpu_s(self) -> float:
        procs = [self.ps, *self.ps.children(recursive=True)]
        return float(sum(sum(p.cpu_times()[:2]) for p in procs))

    def rss_mb(self) -> float:
        rss: int = self.ps.memory_info().rss
        return round(rss / 2**20, 1)

    @property
    def port(self) -> int:
        return int(self.proc.ocpp.rsplit(":", 1)[1].split("/", 1)[0])


def percentiles(lat: list[float]) -> dict[str, float]:
    lat = sorted(lat)
    if not lat:
        return {}
    pick = {"p50_ms": .5, "p95_ms": .95, "p99_ms": .99, "max_ms": 1.0}
    return {"mean_ms": round(1000 * sum(lat) / len(lat), 2)} | {
        k: round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 2) for k, q in pick.items()}


class WindowCpu:
    """CPU over a window: the node, the whole machine, and what is neither (nor this bench's
    process, nor the node's PostgreSQL backends): other sessions' work on a shared machine."""

    def __init__(self, server: Server) -> None:
        self._server, self._t0 = server, time.perf_counter()
        self._node0, self._own0 = server.cpu_s(), time.process_time()
        self._machine0 = _busy(psutil.cpu_times())

    def done(self, pg_s: float, updates: int) -> dict[str, Any]:
        wall = time.perf_counter() - self._t0
        node = self._server.cpu_s() - self._node0
        own = time.process_time() - self._own0
        busy = _busy(psutil.cpu_times()) - self._machine0
        return {"window_s": round(wall, 1), "server_cpu_pct": round(100 * node / wall, 1),
                "server_cpu_us_per_update": round(1e6 * node / updates),
                "pg_cpu_us_per_update": round(1e6 * pg_s / updates),
                "bench_client_cpu_pct": round(100 * own / wall, 1),
                "machine_busy_pct": round(100 * busy / wall, 1),
                "other_cpu_pct": round(100 * max(0.0, busy - node - pg_s - own) / wall, 1)}


def _busy(t: Any) -> float:
    return float(sum(getattr(t, f, 0.0) for f in (
        "user", "nice", "system", "irq", "softirq", "steal")))


def timeline(lat: list[tuple[float, float]], slot_s: float) -> list[dict[str, float]]:
    """Per `slot_s` of the window (by send time): updates, p50 and max latency in ms."""
    slots: dict[int, list[float]] = {}
    for at, d in lat:
        slots.setdefault(int(at // slot_s), []).append(d)
    return [{"t_s": round(k * slot_s), "n": len(v), **{
        k2: v2 for k2, v2 in percentiles(v).items() if k2 in ("p50_ms", "max_ms")}}
        for k, v in sorted(slots.items())]


class PgWatch:
    """The node's PostgreSQL backends, looked at about once a second during a window: their
    CPU, what the busy ones wait on, the outbox rows not yet relayed, checkpoints."""

    _LOOK = ("SELECT pid, state, wait_event_type AS t, wait_event AS w FROM pg_stat_activity"
             " WHERE datname = current_database() AND pid <> pg_backend_pid()")
    _CHECKPOINTS = "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"

    def __init__(self, conn: Any, slot_s: float) -> None:
        self.conn, self.cpu, self._slot_s = conn, BackendCpu(), slot_s
        self.states: Counter[str] = Counter()
        self.slots: dict[int, dict[str, Any]] = {}
        self._checkpoints0 = 0

    async def begin(self) -> None:
        self._checkpoints0 = int(await self.conn.fetchval(self._CHECKPOINTS))
        await self.look(None)

    async def look(self, at_s: float | None) -> None:
        rows = await self.conn.fetch(self._LOOK)
        self.cpu.update([r["pid"] for r in rows])
        if at_s is None:
            return
        busy = [f"{r['state']}" + (f" ({r['t']}:{r['w']})" if r["w"] else "")
                for r in rows if r["state"] not in ("idle", None)]
        unsent = int(await self.conn.fetchval(
            "SELECT count(*) FROM event_outbox WHERE sent_at IS NULL"))
        self.states.update(busy)
        slot = self.slots.setdefault(int(at_s // self._slot_s), {
            "looks": 0, "busy": 0, "states": Counter(), "outbox_unsent_max": 0})
        slot["looks"] += 1
        slot["busy"] += len(busy)
        slot["states"].update(busy)
        slot["outbox_unsent_max"] = max(slot["outbox_unsent_max"], unsent)

    async def done(self) -> dict[str, Any]:
        checkpoints = int(await self.conn.fetchval(self._CHECKPOINTS)) - self._checkpoints0
        looks = max(sum(s["looks"] for s in self.slots.values()), 1)
        return {"pg_checkpoints": checkpoints, "pg_busy_states": {
            k: round(v / looks, 2) for k, v in self.states.most_common(5)}}

    def slot(self, k: int) -> dict[str, Any]:
        s = self.slots.get(k)
        if s is None:
            return {}
        top = s["states"].most_common(1)
        return {"pg_busy": round(s["busy"] / s["looks"], 1), "pg_top": top[0][0] if top else "",
                "outbox_unsent_max": s["outbox_unsent_max"]}


def log_summary(path: Path) -> dict[str, int]:
    """The node's warnings and errors (JSON log lines) by level and event, most frequent first."""
    seen: Counter[str] = Counter()
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            seen[f"{entry.get('level')} {entry.get('event')}"] += 1
    return dict(seen.most_common(10))
