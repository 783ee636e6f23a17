"""bench.v2g run tiny through the real server (5 sessions, 2 updates a window): its report."""

from __future__ import annotations

from typing import Any

import pytest

from bench import v2g
from bench.__main__ import MICRO

pytestmark = pytest.mark.timeout(180)


async def test_tiny_run_reports_both_windows_and_every_session_live(
        database_server_url: str, nats_url: str) -> None:
    opts = v2g.Opts(sessions=5, interval_s=0.5, updates=2, settle_s=0.5,
                    dsn=database_server_url, nats_url=nats_url)
    result: dict[str, Any] = await v2g.measure(opts)
    assert [p["phase"] for p in result["phases"]] == ["transactions", "v2g", "stopped"]
    for phase in result["phases"]:
        assert phase["updates"] == 10 and phase["errors"] == {}
        assert {"p50_ms", "p99_ms", "max_ms"} <= set(phase["latency"])
        assert phase["server_cpu_us_per_update"] >= 0 and phase["rss_mb"] > 0
        assert phase["rss_start_mb"] > 0 and "rss_growth_kb_per_update" in phase
        assert phase["machine_busy_pct"] >= 0 and phase["other_cpu_pct"] >= 0
        assert sum(slot["n"] for slot in phase["timeline"]) == 10
        assert phase["pg_checkpoints"] >= 0 and isinstance(phase["pg_busy_states"], dict)
        assert "answered" not in phase
    assert result["starts"]["statuses"] == {"201": 5}
    assert result["starts"]["profiles_accepted"] == 5
    checks = result["checks"]
    assert checks["sessions"] == 5 and checks["db_status"] == {"Active": 5}
    assert checks["actors"] == {"active": 5}
    assert checks["sessions_all_samples"] == 5
    assert checks["samples_stored"] == checks["updates_answered"] == 10
    assert checks["exported_wh"] > 0  # two samples each: the baseline, then 19 Wh more
    stops = result["stops"]
    assert stops["statuses"] == {"200": 5} and stops["profiles_cleared"] == 5
    assert stops["db_status"] == {"Completed": 5} and stops["compensations"] == {"paid": 5}
    assert isinstance(result["server_log"], dict)  # the node's warnings, by event
    memory = result["memory"]
    assert {"kb_per_session", "kb_per_session_at_start", "rss_transactions_window_mb",
            "rss_v2g_window_mb"} <= set(memory)
    assert set(result["cost"]) >= {"server_cpu_us_per_update_added", "p99_ratio"}
    result["machine"] = {"date": "d", "commit": "c", "nproc": 2, "cpu": "x",
                         "loadavg_at_start": [0, 0, 0]}
    section = v2g.section(result, "python -m bench.v2g --sessions 5")
    assert "5 transactions, 5 V2G sessions" in section and "server RSS per live session actor" in section
    _, argv, _, render = next(m for m in MICRO if m[0] == "v2g")  # what make bench runs
    assert argv == ("bench.v2g", "--short") and render(result) in section
