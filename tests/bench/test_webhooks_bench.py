"""Smoke tests of bench.webhooks: the send plan, and a tiny run of all paths on PostgreSQL."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter

import asyncpg
import pytest

from bench import webhooks


def test_plan_sends_every_event_once_plus_the_replays() -> None:
    events = [{"id": f"evt_{i}"} for i in range(50)]
    sends = webhooks.plan(events, 0.1, seed_=3)
    counts = Counter(e["id"] for e in sends)
    assert set(counts) == {e["id"] for e in events}
    assert len(sends) == 55 and sum(n - 1 for n in counts.values()) == 5


async def _left_over(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                f"bench_tx_{os.getpid()}_%")
    finally:
        await conn.close()


@pytest.mark.pg
async def test_tiny_run_reports_every_path_side_by_side(database_server_url: str) -> None:
    opts = argparse.Namespace(dsn=database_server_url, events=10, concurrency=[1, 3],
                              duplicates=0.3)
    result = await webhooks.measure(opts)
    json.dumps(result)
    runs = result["runs"]
    assert [(r["path"], r["concurrency"]) for r in runs] == [
        (p, c) for c in (1, 3) for p in ("route", "store", "floor")]
    for r in runs:
        assert r["errors"] == {} and r["credited_once"] is True
        assert (r["fresh"], r["duplicates"], r["sends"]) == (10, 3, 13)
        assert r["webhooks_per_s"] > 0 and {"p50_ms", "p99_ms", "seconds"} <= set(r)
    assert set(result["ratios"]) == {"c1", "c3"}
    assert set(result["ratios"]["c3"]) == {"route/floor", "store/floor"}
    assert result["server"].startswith("PostgreSQL") and result["pool_max"] > 0
    result["machine"] = {"date": "d", "commit": "c", "nproc": 2, "cpu": "x",
                         "loadavg_at_start": [0.0]}
    text = webhooks.section(result, "python -m bench.webhooks")
    assert "Stripe webhooks applied per second" in text and "| route | 3 |" in text
    assert await _left_over(database_server_url) == []
