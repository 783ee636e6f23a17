"""Histogram percentiles, merging and the picklable state round trip."""

from __future__ import annotations

import math

from bench.load.stats import Histogram, WorkerStats


def test_percentiles_are_within_bucket_resolution() -> None:
    hist = Histogram()
    for ms in range(1, 1001):
        hist.record(ms / 1000)
    assert hist.count == 1000
    assert math.isclose(hist.percentile(50), 0.5, rel_tol=0.03)
    assert math.isclose(hist.percentile(99), 0.99, rel_tol=0.03)
    assert hist.percentile(100) == hist.max == 1.0


def test_empty_histogram_summary() -> None:
    assert Histogram().summary() == {"count": 0}
    assert math.isnan(Histogram().percentile(50))


def test_merge_and_state_round_trip() -> None:
    a, b = WorkerStats(), WorkerStats()
    a.hist("Heartbeat").record(0.001)
    b.hist("Heartbeat").record(0.003)
    b.errors["timeout"] += 2
    b.boot_status["Accepted"] += 1
    a.merge(WorkerStats.from_state(b.to_state()))
    assert a.hist("Heartbeat").count == 2
    assert a.hist("Heartbeat").max == 0.003
    assert a.errors["timeout"] == 2
    assert a.boot_status["Accepted"] == 1
