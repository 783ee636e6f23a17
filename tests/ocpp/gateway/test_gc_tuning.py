"""The gateway's garbage-collector settings: applied once, and never over someone else's."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from sigec_actors.ocpp.gc_tuning import CONNECTION_HEAVY, tune_for_connections
assert gc.get_threshold() == (700, 10, 10)
assert tune_for_connections() is True
assert gc.get_threshold() == CONNECTION_HEAVY and gc.get_freeze_count() > 0
assert tune_for_connections() is False
gc.set_threshold(1000, 10, 10)
import importlib, sigec_actors.ocpp.gc_tuning as t
importlib.reload(t)
assert t.tune_for_connections() is False  # thresholds someone chose are kept
assert gc.get_threshold() == (1000, 10, 10)
print("ok")
"""


def test_tuning_in_a_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
