"""The load generator: simulated OCPP 2.0.1 stations in worker processes, and its runner."""
