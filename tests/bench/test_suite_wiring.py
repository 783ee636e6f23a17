"""The default suite's wiring (bench/__main__.py) and the worker-scaling columns of the report."""

from __future__ import annotations

import json
from typing import Any

from bench import report
from bench.__main__ import MICRO, SUITE_TARGETS, parse_json, run_micro


def _steady(target: str, msgs: float, cpu_pct: float) -> dict[str, Any]:
    return {"scenario": "steady", "target": target, "stations": 1000,
            "window": {"messages_per_s": msgs, "server_cpu_pct": cpu_pct}}


def test_ratio_table_shows_two_workers_over_one() -> None:
    runs = [_steady("bare", 4000, 40), _steady("sigec-w1", 2000, 95),
            _steady("sigec-w2", 3400, 180)]
    table = report.ratio_table(runs)
    header, _, msgs, cpu = table.splitlines()[:4]
    assert header.rstrip(" |").endswith("sigec-w2 / sigec-w1")
    assert msgs.startswith("| steady | messages/s ↑") and msgs.endswith("| 1.70x |")
    assert cpu.startswith("| steady | server CPU % (100 = 1 core) |")
    assert cpu.endswith("| 1.89x |")


def test_repeated_runs_show_medians() -> None:
    runs = [_steady("sigec-w1", 2000, 95), _steady("sigec-w2", 3400, 180),
            _steady("sigec-w1", 1000, 95), _steady("sigec-w2", 3000, 180),
            _steady("sigec-w1", 2200, 95), _steady("sigec-w2", 9000, 180)]
    msgs = report.ratio_table(runs).splitlines()[2]
    assert msgs.startswith("| steady | messages/s ↑ | 2,000 | 3,400 |")
    assert msgs.endswith("| 1.70x |")
    assert report.median_of(runs[:2], ("window", "messages_per_s")) == 2700


def test_no_worker_ratio_without_one_worker() -> None:
    table = report.ratio_table([_steady("bare", 4000, 40), _steady("sigec-w2", 3400, 180)])
    assert "sigec-w1" not in table


def test_suite_covers_every_target_and_micro_benchmark() -> None:
    assert SUITE_TARGETS[:4] == ("bare", "ocpp-lib", "sigec-w0", "sigec-w1")
    assert SUITE_TARGETS[-1].startswith("sigec-w")
    assert [m[0] for m in MICRO] == ["codec", "actors", "cluster", "txevents", "v2g",
                                     "firmware"]
    by_name = {m[0]: m[1] for m in MICRO}
    assert by_name["txevents"] == ("bench.txevents", "--short")
    assert by_name["v2g"] == ("bench.v2g", "--short")
    assert by_name["firmware"] == ("bench.firmware",)


def test_parse_json_indented_first_or_one_line_last() -> None:
    data = {"a": 1, "b": [1, 2]}
    assert parse_json(json.dumps(data, indent=2) + "\n\n| table | x |\n") == data
    assert parse_json("| t |\n|---|\n" + json.dumps(data) + "\n") == data
    assert parse_json("no json here\n{broken\n") is None


def test_micro_section_renders_the_table(tmp_path: Any) -> None:
    data = {"machine": {"date": "d", "commit": "c", "nproc": 2, "cpu": "x", "mem_gib": 1,
                        "loadavg_at_start": [0, 0, 0]}, "wall_s": 200.0,
            "micro": {"codec": {"status": "ok", "command": "python -m bench.codec",
                                "table": "| action |\n|---|"}}}
    section = report.results_section(data, "python -m bench")
    assert "### `python -m bench.codec`" in section and "| action |" in section
    assert "Wall time of the whole run: 200 s." in section


def test_run_micro_reports_a_failing_module() -> None:
    out = run_micro("nope", ("bench.no_such_module",), 20.0, lambda r: "")
    assert out["status"] == "exit 1" and "No module named" in out["stderr_tail"]
