"""A stopped server's process ends even when something in it would hold it (exit_if_stuck)."""

from __future__ import annotations

import subprocess
import sys

HOLDS = """
import threading, time
from sigec_actors.server import exit_if_stuck
exit_if_stuck({after})
# a non-daemon thread that never ends: interpreter exit would join it forever
threading.Thread(target=time.sleep, args=(60,)).start()
"""


def test_a_process_held_after_its_stop_is_ended_with_code_1() -> None:
    proc = subprocess.run([sys.executable, "-c", HOLDS.format(after=0.5)],
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode == 1  # without the timer the child sleeps 60 s: a timeout here


def test_a_process_that_ends_in_time_is_not_held_by_the_timer() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from sigec_actors.server import exit_if_stuck\n"
                               "exit_if_stuck(60)\nprint('done')"],
        capture_output=True, timeout=30, check=False, text=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, "done")
