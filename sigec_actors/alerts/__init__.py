"""Operator alerts: records, the Alerts port and the pure rules that open them."""
