"""Adapters: one module per technology (PostgreSQL, NATS, Redis, in-process)."""
