"""What the HTTP layer may reach: the node's ports, handed in by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sigec_actors.config import Settings
from sigec_actors.readiness_types import Check as ReadinessCheck


@dataclass
class AppContext:
    """Dependencies of the REST handlers; bootstrap fills it, tests build their own."""

    settings: Settings
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


CTX = web.AppKey("ctx", AppContext)


def ctx_of(request: web.Request) -> AppContext:
    """The AppContext of the app serving `request`."""
    return request.app[CTX]
