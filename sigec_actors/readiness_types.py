"""The shape of a readiness check, shared by the node and the HTTP layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[str | None]]
