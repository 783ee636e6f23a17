"""Test helpers shipped with the package: fake clock, in-memory ports, deterministic runners.

Each area keeps its fakes in a submodule and re-exports them here.
"""

from sigec_actors.testing.runtime import FakeClock as FakeClock
from sigec_actors.testing.runtime import FakeTimer as FakeTimer
from sigec_actors.testing.runtime import advance as advance
from sigec_actors.testing.runtime import quiescent as quiescent
from sigec_actors.testing.runtime import running_system as running_system
from sigec_actors.testing.runtime import settle as settle
from sigec_actors.testing.runtime import shutdown as shutdown

# isort: split
# Persistence, events and cache fakes (issue 5).
from sigec_actors.adapters.memory_bus import MemoryEventBus as MemoryEventBus
from sigec_actors.adapters.memory_cache import MemoryCache as MemoryCache
from sigec_actors.testing.repos import InMemoryAuditLog as InMemoryAuditLog
from sigec_actors.testing.repos import InMemoryIdTokens as InMemoryIdTokens
from sigec_actors.testing.repos import InMemoryOutbox as InMemoryOutbox
from sigec_actors.testing.repos import InMemoryRefreshTokens as InMemoryRefreshTokens
from sigec_actors.testing.repos import InMemoryStations as InMemoryStations
from sigec_actors.testing.repos import InMemoryUsers as InMemoryUsers
from sigec_actors.testing.repos_money import InMemoryLedger as InMemoryLedger
from sigec_actors.testing.repos_money import InMemoryTransactionEvents as InMemoryTransactionEvents

# isort: split
# OCPP charge point side (issue 4): in-memory link, harness, loopback gateway.
from sigec_actors.testing.ocpp import AcceptAllTokens as AcceptAllTokens
from sigec_actors.testing.ocpp import ChargePointHarness as ChargePointHarness
from sigec_actors.testing.ocpp import FakeLink as FakeLink
from sigec_actors.testing.ocpp import LoopbackGateway as LoopbackGateway
from sigec_actors.testing.ocpp import make_deps as make_deps

# isort: split
# Transactions, tariffs and reservations fakes (issue 7).
from sigec_actors.testing.transactions import InMemoryReservations as InMemoryReservations
from sigec_actors.testing.transactions import InMemoryTariffs as InMemoryTariffs
from sigec_actors.testing.transactions import (
    InMemoryTransactionQueries as InMemoryTransactionQueries,
)

# isort: split
# Operator alerts.
from sigec_actors.testing.alerts import InMemoryAlerts as InMemoryAlerts
