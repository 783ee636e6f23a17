"""Simulated OCPP 2.0.1 charging stations (on the `ocpp` library client) for tests and bench."""

from sigec_actors.simulator.handlers import SimConfig, SimStats
from sigec_actors.simulator.station import SimTransaction, SimulatedStation

__all__ = ["SimConfig", "SimStats", "SimTransaction", "SimulatedStation"]
