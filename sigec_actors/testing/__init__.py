"""Test helpers shipped with the package: fake clock, in-memory ports, deterministic runners.

Each area keeps its fakes in a submodule and re-exports them here.
"""

from sigec_actors.testing.runtime import FakeClock as FakeClock
from sigec_actors.testing.runtime import FakeTimer as FakeTimer
from sigec_actors.testing.runtime import advance as advance
from sigec_actors.testing.runtime import quiescent as quiescent
from sigec_actors.testing.runtime import running_system as running_system
from sigec_actors.testing.runtime import settle as settle
