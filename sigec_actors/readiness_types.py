"""The shape of a readiness check, shared by the node and the HTTP layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


class Ready(str):
    """A check's answer when ready but worth showing (e.g. the outbox backlog): not a failure."""

    __slots__ = ()


Check = Callable[[], Awaitable[str | None]]
"""None or a Ready note when ready; any other string says why not."""
