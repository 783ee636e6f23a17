"""Tests of the simulated station (pure physics and profiles; V2G mode against a real server)."""
