"""OCPP 2.0.1 device model, diagnostics, monitoring, events and customer information (B, N)."""
