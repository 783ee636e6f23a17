"""Smoke tests of the bench harness itself (no timing asserts)."""
