"""The runner's side of the load workers: spawn them, read their counters, collect, end by PID."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import time
from typing import Any

from bench.load import stats
from bench.load.config import GO_AT, N_FLAGS, STOP, LoadConfig
from bench.load.target import Usage, tree_usage
from bench.load.worker import worker_main

_READY_TIMEOUT_S = 60.0
_COLLECT_TIMEOUT_S = 30.0


class WorkerPool:
    """N worker processes, each driving a contiguous slice of the station ids."""

    def __init__(self, cfg: LoadConfig) -> None:
        self.cfg = cfg
        self._mp = mp.get_context("spawn")
        self.flags: Any = self._mp.Array("d", N_FLAGS, lock=False)
        self.results: Any = self._mp.Queue()
        self.counters: list[Any] = []
        self.procs: list[Any] = []
        self.states: list[dict[str, Any]] = []

    def slices(self) -> list[tuple[int, int]]:
        n, w = self.cfg.stations, self.cfg.workers
        bounds = [n * i // w for i in range(w + 1)]
        return [(bounds[i], bounds[i + 1] - bounds[i]) for i in range(w)]

    async def start(self) -> float:
        """Spawn the workers, wait until all are ready, then set GO; returns the GO time."""
        cfg = self.cfg.__dict__.copy()
        for first, count in self.slices():
            counters = self._mp.Array("q", stats.N_COUNTERS, lock=False)
            proc = self._mp.Process(target=worker_main, daemon=True, name=f"bench-load-{first}",
                                    args=(cfg, first, count, counters, self.flags, self.results))
            proc.start()
            self.counters.append(counters)
            self.procs.append(proc)
        ready = 0
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while ready < len(self.procs) and time.monotonic() < deadline:
            if not all(p.is_alive() for p in self.procs):
                break
            kind, _first, _state = await self._next_result(0.05)
            ready += kind == "ready"
        if ready < len(self.procs):
            raise RuntimeError(f"only {ready} of {len(self.procs)} load workers started")
        go_at = time.monotonic() + 0.2
        self.flags[GO_AT] = go_at
        return go_at

    async def _next_result(self, wait_s: float) -> tuple[str, int, Any]:
        try:
            return tuple(self.results.get_nowait())  # type: ignore[return-value]
        except queue.Empty:
            await asyncio.sleep(wait_s)
            return ("none", -1, None)

    def total(self, index: int) -> int:
        return sum(int(c[index]) for c in self.counters)

    def snapshot(self) -> dict[str, int]:
        return {name: self.total(i) for i, name in enumerate(stats.COUNTER_NAMES)}

    def usage(self) -> Usage:
        """CPU and RSS of the worker processes together."""
        total = Usage()
        for proc in self.procs:
            if proc.pid is not None:
                part = tree_usage(proc.pid)
                total.cpu_s += part.cpu_s
                total.rss += part.rss
        return total

    async def stop(self) -> stats.WorkerStats:
        """Set STOP, collect every worker's stats, end stragglers by PID."""
        self.flags[STOP] = 1.0
        deadline = time.monotonic() + _COLLECT_TIMEOUT_S
        while len(self.states) < len(self.procs) and time.monotonic() < deadline:
            kind, _first, state = await self._next_result(0.05)
            if kind == "done":
                self.states.append(state)
        for proc in self.procs:
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
        merged = stats.WorkerStats()
        for state in self.states:
            merged.merge(stats.WorkerStats.from_state(state))
        if len(self.states) < len(self.procs):
            merged.errors["worker-lost"] += len(self.procs) - len(self.states)
        with contextlib.suppress(Exception):
            self.results.close()
        return merged
