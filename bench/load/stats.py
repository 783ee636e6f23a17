"""Mergeable latency histograms and the shared per-worker counters the runner polls."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Log-scaled buckets: 40 per e-fold (~2.5 % resolution) from 1 us up to about 10 minutes.
_PER_E = 40
_NBUCKETS = int(math.log(600e6) * _PER_E) + 2

# Indices into each worker's shared counter array (multiprocessing.Array('q', N_COUNTERS)).
CONNECTED = 0  # open sockets right now
CONNECTS = 1  # successful WebSocket handshakes, total
BOOTED = 2  # BootNotification answered Accepted, total
BOOT_NOT_ACCEPTED = 3  # BootNotification answered Pending/Rejected or anything else
MESSAGES = 4  # completed CALL round trips (CALLRESULT or CALLERROR), total
ERRORS = 5  # errors of any kind, total
CSMS_CALLS = 6  # CALLs received from the server and answered
N_COUNTERS = 7
COUNTER_NAMES = ("connected", "connects", "booted", "boot_not_accepted", "messages", "errors",
                 "csms_calls")


class Histogram:
    """Latency histogram in seconds with log buckets; cheap to record, exact count, mergeable."""

    __slots__ = ("buckets", "count", "max", "min", "total")

    def __init__(self) -> None:
        self.buckets: list[int] = [0] * _NBUCKETS
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def record(self, seconds: float) -> None:
        """Add one sample (seconds)."""
        us = seconds * 1e6
        idx = int(math.log(us) * _PER_E) + 1 if us > 1.0 else 0
        self.buckets[min(idx, _NBUCKETS - 1)] += 1
        self.count += 1
        self.total += seconds
        self.min = min(self.min, seconds)
        self.max = max(self.max, seconds)

    def merge(self, other: Histogram) -> None:
        """Add another histogram's samples to this one."""
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100) in seconds, to the bucket's upper edge."""
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(self.count * q / 100.0))
        seen = 0
        for idx, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                upper = math.exp(idx / _PER_E) / 1e6 if idx else 1e-6
                return min(max(upper, self.min), self.max)
        return self.max

    def to_state(self) -> dict[str, Any]:
        """A picklable/JSON-able sparse form."""
        sparse = {i: n for i, n in enumerate(self.buckets) if n}
        return {"b": sparse, "count": self.count, "total": self.total,
                "min": self.min, "max": self.max}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Histogram:
        hist = cls()
        for i, n in state["b"].items():
            hist.buckets[int(i)] = n
        hist.count, hist.total = state["count"], state["total"]
        hist.min, hist.max = state["min"], state["max"]
        return hist

    def summary(self) -> dict[str, float | int]:
        """count, mean and p50/p95/p99/max in milliseconds."""
        if self.count == 0:
            return {"count": 0}
        ms = 1000.0
        return {"count": self.count, "mean_ms": round(self.total / self.count * ms, 3),
                "p50_ms": round(self.percentile(50) * ms, 3),
                "p95_ms": round(self.percentile(95) * ms, 3),
                "p99_ms": round(self.percentile(99) * ms, 3),
                "max_ms": round(self.max * ms, 3)}


@dataclass
class WorkerStats:
    """What one load worker hands back when it ends."""

    latency: dict[str, Histogram] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    boot_status: Counter[str] = field(default_factory=Counter)
    first_connect_at: float = math.inf
    last_boot_at: float = 0.0
    cpu_s: float = 0.0
    loops: Counter[str] = field(default_factory=Counter)  # event loop -> worker processes

    def hist(self, action: str) -> Histogram:
        found = self.latency.get(action)
        if found is None:
            found = self.latency[action] = Histogram()
        return found

    def to_state(self) -> dict[str, Any]:
        return {"latency": {k: v.to_state() for k, v in self.latency.items()},
                "errors": dict(self.errors), "boot_status": dict(self.boot_status),
                "first_connect_at": self.first_connect_at, "last_boot_at": self.last_boot_at,
                "cpu_s": self.cpu_s, "loops": dict(self.loops)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WorkerStats:
        return cls(latency={k: Histogram.from_state(v) for k, v in state["latency"].items()},
                   errors=Counter(state["errors"]), boot_status=Counter(state["boot_status"]),
                   first_connect_at=state["first_connect_at"],
                   last_boot_at=state["last_boot_at"], cpu_s=state["cpu_s"],
                   loops=Counter(state.get("loops", {})))

    def merge(self, other: WorkerStats) -> None:
        for action, hist in other.latency.items():
            self.hist(action).merge(hist)
        self.errors.update(other.errors)
        self.boot_status.update(other.boot_status)
        self.first_connect_at = min(self.first_connect_at, other.first_connect_at)
        self.last_boot_at = max(self.last_boot_at, other.last_boot_at)
        self.cpu_s += other.cpu_s
        self.loops.update(other.loops)
