"""Base error types shared by every layer; errors carry data, not just text."""

from __future__ import annotations


class SigecError(Exception):
    """Base of every error SIGEC raises on purpose.

    Subclasses keep their data as attributes and build a human message from it.
    """


class ConfigError(SigecError):
    """A configuration key has a bad value; `key` names it for the one-line start-up error."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config error: {key}: {problem}")
