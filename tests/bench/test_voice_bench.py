"""Smoke test of bench.voice: one round of every path gives percentiles over every utterance."""

from __future__ import annotations

import subprocess
import sys


def test_one_round_prints_the_three_paths() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.voice", "--rounds", "1",
                          "--stations", "20"], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    rows = [line.split("|")[1].strip() for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| path")]
    assert rows == ["normalise", "rules", "service"], out
