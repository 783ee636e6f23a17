"""End-to-end smoke runs of the harness against the bare peer (small, bounded, loopback only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.load.config import LoadConfig
from bench.load.station import WorkerCtx
from bench.load.suite import make_target, run_configs
from bench.load.target import Target


async def _run(cfg: LoadConfig, tmp_path: Path) -> dict:
    [result] = await run_configs([cfg], ["bare"], tmp_path)
    json.dumps(result)  # the report must be JSON-able
    return result


async def test_steady_20_stations_2_seconds(tmp_path: Path) -> None:
    cfg = LoadConfig(scenario="steady", stations=20, duration_s=2.0, workers=2,
                     heartbeat_every_s=0.2, status_every_s=0.4, connect_timeout_s=10)
    result = await _run(cfg, tmp_path)
    assert result["connect"]["boot_status"] == {"Accepted": 20}
    assert result["window"]["counters"]["messages"] > 0
    assert result["latency"]["Heartbeat"]["count"] > 0
    assert result["errors"] == {}
    assert result["memory"]["rss_connected_mb"] > 0


async def test_reconnect_storm_brings_everyone_back(tmp_path: Path) -> None:
    cfg = LoadConfig(scenario="reconnect-storm", stations=10, duration_s=1.0, workers=1,
                     connect_timeout_s=10, reconnect_max_s=0.2)
    result = await _run(cfg, tmp_path)
    assert result["restart"]["all_reconnected"] is True
    assert result["connect"]["boot_status"]["Accepted"] == 20


async def test_commands_are_skipped_for_peers(tmp_path: Path) -> None:
    cfg = LoadConfig(scenario="commands", stations=5, duration_s=1.0, workers=1)
    result = await _run(cfg, tmp_path)
    assert "skipped" in result


def test_ratio_table_marks_unavailable_targets() -> None:
    runs = [
        {"scenario": "steady", "target": "bare", "window": {"messages_per_s": 1000.0}},
        {"scenario": "steady", "target": "ocpp-lib", "window": {"messages_per_s": 250.0}},
        {"scenario": "steady", "target": "sigec-w0", "unavailable": "no gateway"},
    ]
    table = report.ratio_table(runs)
    assert "| steady | messages/s ↑ | 1,000 | 250 | unavailable | 0.25x | - | - |" in table


def test_targets_and_bounds() -> None:
    assert isinstance(make_target("bare", Path("/tmp")), Target)
    assert make_target("sigec", Path("/tmp")).name == "sigec-w0"
    with pytest.raises(ValueError, match="unknown target"):
        make_target("nginx", Path("/tmp"))
    with pytest.raises(ValueError, match="stations"):
        LoadConfig(stations=0)
    with pytest.raises(ValueError, match="client loop"):
        LoadConfig(client_loop="trio")
    with pytest.raises(ValueError, match="client sched"):
        LoadConfig(client_sched="fifo")
    cfg = LoadConfig(url="ws://example.com/ocpp")
    with pytest.raises(ValueError, match="loopback"):
        WorkerCtx(cfg, [0] * 8, [0.0] * 3)
