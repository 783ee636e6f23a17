"""Smoke tests of bench.txevents: the load shapes on a fake call, and a tiny run on PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import asyncpg
import pytest

from bench import report, txevents
from bench.txevents import Event, Station, closed_loop, open_loop


def test_station_runs_sessions_back_to_back() -> None:
    st = Station("CP1", "CARD1", updates=2)
    events = [st.next_event("p") for _ in range(8)]
    kinds = [e[3].event_type.value for e in events]
    assert kinds == ["Started", "Updated", "Updated", "Ended"] * 2
    assert [e[2] for e in events] == [0, 1, 2, 3] * 2
    assert {e[1] for e in events[:4]} == {"p-0"} and {e[1] for e in events[4:]} == {"p-1"}
    assert events[0][3].id_token is not None and events[0][3].id_token.id_token == "CARD1"


def test_a_new_load_starts_every_station_on_a_new_session() -> None:
    st = Station("CP1", "CARD1", updates=2)
    first = [st.next_event("a") for _ in range(2)]  # left in the middle of a session
    then = st.next_event("b")
    assert [e[2] for e in first] == [0, 1]
    assert then[2] == 0 and then[3].event_type.value == "Started" and then[1].startswith("b-")


async def test_closed_loop_counts_only_the_window() -> None:
    async def call(e: Event) -> None:
        await asyncio.sleep(0.01)

    r = await closed_loop(call, [Station(f"CP{i}", "C", 3) for i in range(5)], "p", 0.5, 0.2)
    assert r["errors"] == {} and r["p99_ms"] >= 10
    assert 150 < r["events_per_s"] < 600  # 5 stations x ~100/s each, noisy machine
    assert r["completed"] >= r["events"]


async def test_open_loop_counts_late_answers_as_unfinished() -> None:
    calls = 0

    async def call(e: Event) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600 if calls == 10 else 0.001)  # the 10th event never returns

    stations = [Station(f"CP{i}", "C", 3) for i in range(20)]
    r = await open_loop(call, stations, "p", rate=200, duration_s=0.5, drain_s=0.3)
    # the hung event, and the ones queued behind it on the same station (one in flight)
    unfinished = r["errors"]["unfinished"]
    assert list(r["errors"]) == ["unfinished"] and 1 <= unfinished <= 10
    assert r["offered"] > 50 and r["events"] == r["offered"] - unfinished
    assert r["max_ms"] >= 300  # the unfinished one's age is in the percentiles


def test_table_shows_ratios_and_targets() -> None:
    runs = [{"path": "floor", "concurrency": 50, "load": "closed loop, 50 stations",
             "events_per_s": 1000.0, "p99_ms": 10.0, "errors": {}, "python_cpu_pct": 40,
             "pg_backends_cpu_pct": 30},
            {"path": "sigec", "concurrency": 50, "load": "closed loop, 50 stations",
             "events_per_s": 250.0, "p99_ms": 40.0, "errors": {}, "python_cpu_pct": 90,
             "pg_backends_cpu_pct": 30},
            {"path": "sigec", "rate": 500.0, "load": "open loop, 500 events/s offered",
             "events_per_s": 240.0, "p99_ms": 4000.0, "errors": {"unfinished": 3},
             "python_cpu_pct": 90, "pg_backends_cpu_pct": 30}]
    table = report.txevents_table({"runs": runs, "targets": txevents._targets(runs)})
    assert "0.25x events/s, 4.00x p99" in table
    assert "**not met** (best 250)" in table and "**not met** (4000.0 ms)" in table
    assert "unfinished 3" in table


def _args(dsn: str) -> argparse.Namespace:
    return argparse.Namespace(dsn=dsn, concurrency=[3], duration=0.5, rate=40.0, rate_s=0.5,
                              drain_s=5.0, updates=2, profile=False, open_stations=5)


async def _bench_databases(dsn: str) -> list[Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1",
                                f"bench_tx_{__import__('os').getpid()}_%")
    finally:
        await conn.close()


@pytest.mark.pg
async def test_tiny_run_on_postgres_commits_and_drops_its_database(
        database_server_url: str) -> None:
    result = await txevents.measure(_args(database_server_url))
    json.dumps(result)
    sigec = [r for r in result["runs"] if r["path"] == "sigec"]
    floor = [r for r in result["runs"] if r["path"] == "floor"]
    assert len(sigec) == len(floor) == 2  # closed loop and open loop, side by side
    assert all(r["errors"] == {} and r["events"] > 0 for r in result["runs"])
    assert result["outbox_rows_left"] > 0  # the durable path wrote its outbox rows
    assert "synchronous_commit" in result["server"]
    assert await _bench_databases(database_server_url) == []
