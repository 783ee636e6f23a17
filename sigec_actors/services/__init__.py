"""Domain services: pure where possible, each behind the ports it needs."""
