"""SIGEC-VE: an actor-based OCPP charging station management system."""

__version__ = "0.1.0"
